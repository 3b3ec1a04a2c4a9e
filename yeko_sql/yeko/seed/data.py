"""The fixed material of the seeder: an Ivorian-style school system.

Grades 6e..3e (premier cycle) and 2nde..Tle (second cycle, series A, C, D),
the subjects and their coefficients, names of people, towns and schools.
Only data lives here, written as compact text; ``yeko_sql.yeko.seed.run`` makes rows.
"""

from __future__ import annotations

__all__ = [
    "CITIES",
    "COEFFICIENTS",
    "COLLEGE_NAMES",
    "FEMALE_FIRST_NAMES",
    "GRADES",
    "LAST_NAMES",
    "LV2",
    "LYCEE_NAMES",
    "MALE_FIRST_NAMES",
    "SERIES",
    "SERIES_SHARE",
    "SUBJECTS",
    "TRACKS",
    "chapters",
]


def _items(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(sep) if item.strip())


def _weights(text: str) -> dict[str, int]:
    words = text.split()
    return {
        name: int(weight) for name, weight in zip(words[::2], words[1::2], strict=True)
    }


TRACKS = (("PC", "Premier cycle"), ("SC", "Second cycle"))

# code, name, sort_order, track, share of a school's students
GRADES = (
    ("6EME", "6e", 1, "PC", 17),
    ("5EME", "5e", 2, "PC", 16),
    ("4EME", "4e", 3, "PC", 15),
    ("3EME", "3e", 4, "PC", 15),
    ("2NDE", "2nde", 5, "SC", 13),
    ("1ERE", "1ere", 6, "SC", 12),
    ("TLE", "Tle", 7, "SC", 12),
)

SERIES = (
    ("A", "Serie A (lettres)"),
    ("C", "Serie C (mathematiques et sciences physiques)"),
    ("D", "Serie D (mathematiques et sciences de la nature)"),
)

# Share of a second-cycle grade's students per series (2nde has no D).
SERIES_SHARE = {
    "2NDE": (("A", 40), ("C", 60)),
    "1ERE": (("A", 40), ("C", 15), ("D", 45)),
    "TLE": (("A", 40), ("C", 15), ("D", 45)),
}

# name, short name, category
SUBJECTS = (
    ("Mathematiques", "MATH", "scientific"),
    ("Francais", "FR", "literary"),
    ("Anglais", "ANG", "literary"),
    ("Physique-Chimie", "PC", "scientific"),
    ("SVT", "SVT", "scientific"),
    ("Histoire-Geographie", "HG", "literary"),
    ("Philosophie", "PHILO", "literary"),
    ("EPS", "EPS", "sports"),
    ("Espagnol", "ESP", "literary"),
    ("Allemand", "ALL", "literary"),
    ("EDHC", "EDHC", "other"),
)

LV2 = ("ESP", "ALL")
"""Second foreign languages: a student takes one (Espagnol three times in four)."""

_COMMON = " EDHC 1 EPS 1"
_FIRST_CYCLE = "FR 3 MATH 3 ANG 2 HG 2 SVT 2 PC "

# (grade code, series code or None) -> subject short name -> weight; LV2 stands
# for Espagnol and Allemand alike (a student is marked in the one they take).
COEFFICIENTS: dict[tuple[str, str | None], dict[str, int]] = {
    ("6EME", None): _weights(_FIRST_CYCLE + "1" + _COMMON),
    ("5EME", None): _weights(_FIRST_CYCLE + "1" + _COMMON),
    ("4EME", None): _weights(_FIRST_CYCLE + "2 LV2 1" + _COMMON),
    ("3EME", None): _weights(_FIRST_CYCLE + "2 LV2 1" + _COMMON),
    ("2NDE", "A"): _weights("FR 4 ANG 3 HG 3 LV2 2 MATH 2 SVT 1 PC 1" + _COMMON),
    ("2NDE", "C"): _weights("MATH 5 PC 4 SVT 2 FR 3 ANG 2 HG 2" + _COMMON),
    ("1ERE", "A"): _weights("FR 4 PHILO 3 ANG 3 HG 3 LV2 3 MATH 2 SVT 1" + _COMMON),
    ("1ERE", "C"): _weights("MATH 5 PC 5 SVT 2 FR 3 PHILO 2 ANG 2 HG 2" + _COMMON),
    ("1ERE", "D"): _weights("MATH 4 PC 4 SVT 4 FR 3 PHILO 2 ANG 2 HG 2" + _COMMON),
    ("TLE", "A"): _weights("PHILO 5 FR 4 ANG 3 HG 3 LV2 3 MATH 2 SVT 1" + _COMMON),
    ("TLE", "C"): _weights("MATH 5 PC 5 SVT 2 PHILO 2 FR 3 ANG 2 HG 2" + _COMMON),
    ("TLE", "D"): _weights("MATH 4 PC 4 SVT 4 PHILO 2 FR 3 ANG 2 HG 2" + _COMMON),
}

_CHAPTERS = {
    "MATH": _items(
        "Nombres et calculs; Equations et inequations; Fonctions; "
        "Geometrie dans le plan; Statistiques; Probabilites; "
        "Suites numeriques; Vecteurs",
        ";",
    ),
    "FR": _items(
        "Le recit; La poesie; Le theatre; L'argumentation; La dissertation; "
        "Le commentaire compose; Etude d'une oeuvre",
        ";",
    ),
    "ANG": _items(
        "Grammar review; Reading comprehension; Essay writing; "
        "Oral expression; Literature",
        ";",
    ),
    "PC": _items(
        "Mecanique; Electricite; Optique; Chimie organique; "
        "Solutions aqueuses; Energie",
        ";",
    ),
    "SVT": _items(
        "La cellule; La nutrition; La reproduction; Geologie; Immunologie; "
        "Genetique; Ecologie",
        ";",
    ),
    "HG": _items(
        "La Cote d'Ivoire coloniale; Les independances africaines; "
        "Le monde depuis 1945; Population et developpement; "
        "L'economie ivoirienne; L'Afrique de l'Ouest",
        ";",
    ),
    "PHILO": _items(
        "Qu'est-ce que la philosophie; La conscience; La liberte; "
        "Le travail; L'Etat; La verite",
        ";",
    ),
    "EPS": _items("Athletisme; Sports collectifs; Gymnastique; Natation", ";"),
    "ESP": _items("Gramatica; Comprension escrita; Expresion oral; Cultura", ";"),
    "ALL": _items("Grammatik; Leseverstehen; Mundlicher Ausdruck; Landeskunde", ";"),
    "EDHC": _items(
        "Les droits de l'enfant; La citoyennete; Le civisme; L'environnement", ";"
    ),
}


def chapters(subject: str, count: int) -> tuple[str, ...]:
    """The first *count* chapter titles of a subject, numbered when they repeat."""
    titles = _CHAPTERS[subject]
    return tuple(
        titles[i % len(titles)]
        + (f" ({i // len(titles) + 1})" if i >= len(titles) else "")
        for i in range(count)
    )


# city | code for school codes | weight (Abidjan holds many schools) | neighbourhoods
# (a town without neighbourhoods names its schools after itself)
_CITIES = """
Abidjan|ABJ|30|Cocody, Yopougon, Abobo, Adjamé, Treichville, Marcory, Koumassi,
    Port-Bouët, Attécoubé, Bingerville, Anyama, Riviera, Angré, Williamsville
Bouaké|BKE|8|Koko, Dar-es-Salam, Air France, Belleville, Ahougnansou, Nimbo
Yamoussoukro|YAM|5|Habitat, Dioulakro, Millionnaire, Morofé
Daloa|DAL|5|Lobia, Tazibouo, Orly, Gbeuliville
Korhogo|KOR|5|Soba, Petit Paris, Haoussabougou
San-Pédro|SPD|4|Bardot, Séwéké, Balmer, Zimbabwe
Man|MAN|3|Libreville, Domoraud, Air France
Gagnoa|GAG|3|Dioulabougou, Garahio, Babré
Abengourou|ABG|3|Agnikro, Dioulakro, Sankadiokro
Divo|DIV|3|Konankro, Cité Gbatta
Soubré|SOU|2|Petit Bouaké
Odienné|ODI|2|Tiekoungo
Bondoukou|BDK|2|Donzosso
Séguéla|SEG|2|Bamako
Agboville|AGB|2|Oress-Krobou
Grand-Bassam|GBA|2|Quartier France, Impérial
Dabou|DAB|2|Lopou
Ferkessédougou|FER|2|Sokoura
Katiola|KAT|1|
Bouaflé|BFL|1|
Sinfra|SIN|1|
Aboisso|ABO|1|
Adzopé|ADZ|1|
Issia|ISS|1|
Duékoué|DUE|1|
Toumodi|TOU|1|
"""

CITIES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = tuple(
    (city, code, int(weight), _items(places))
    for city, code, weight, places in (
        map(str.strip, line.split("|"))
        for line in _CITIES.replace(",\n", ", ").strip().splitlines()
    )
)
"""(city, code, weight, neighbourhoods) for school names, codes and addresses."""

# "{place}" is a neighbourhood or the town; a lycée teaches 6e..Tle.
LYCEE_NAMES = _items(
    """
    Lycée Moderne de {place}; Lycée Municipal de {place}; Lycée Classique de {place};
    Lycée Moderne {n} de {place}; Lycée Sainte-Marie de {place};
    Lycée Notre-Dame de {place}; Groupe Scolaire La Colombe de {place};
    Institution Saint-Joseph de {place}; Lycée Privé Les Élites de {place};
    Cours Secondaire Méthodiste de {place}; Lycée Protestant de {place};
    Groupe Scolaire Les Pionniers de {place}""",
    ";",
)

# A collège teaches 6e..3e only.
COLLEGE_NAMES = _items(
    """
    Collège Moderne de {place}; Collège Saint-Jean-Bosco de {place};
    Collège Notre-Dame de {place}; Collège Privé Les Étoiles de {place};
    Collège Municipal {n} de {place}; Collège Catholique Saint-Viateur de {place};
    Collège Islamique El Hadj Omar de {place}; Collège Les Anges de {place}""",
    ";",
)

LAST_NAMES = _items("""
    Kouassi, Koné, Traoré, Yao, Bamba, Ouattara, Diabaté, Coulibaly, N'Guessan, Aka,
    Konan, Kouamé, Koffi, Touré, Cissé, Diallo, Soro, Silué, Yéo, Tuo, Fofana, Sanogo,
    Doumbia, Dosso, Kamagaté, Gnagne, Zadi, Zokou, Gohou, Dago, Digbeu, Assi, Ahoua,
    Amani, Adou, Brou, Kra, Kouadio, Loukou, N'Dri, Ehui, Essis, Tanoh, Boni, Anoh,
    Djédjé, Séri, Tapé, Kacou, Yapi, Aké, Angoran, Beugré, Bi Tra, Gbané, Karamoko,
    Méité, Sangaré, Bakayoko, Konaté, Kanté, Dembélé, Ouédraogo, Sawadogo, Kaboré,
    Agbo, Atsé, Lasme, Niamké, Ettien""")

FEMALE_FIRST_NAMES = _items("""
    Awa, Aminata, Fatou, Mariam, Adjoua, Akissi, Affoué, Amenan, Ahou, Aya, Salimata,
    Kadidja, Fanta, Rokia, Assita, Nadège, Christelle, Grâce, Esther, Prisca, Larissa,
    Murielle, Bénédicte, Carine, Ange, Marie-Claire, Sandrine, Josiane, Émilie,
    Fatoumata, Aïcha, Mariétou, Ruth, Déborah, Audrey, Inès, Flora, Estelle, Yasmine,
    Noëlla""")

MALE_FIRST_NAMES = _items("""
    Kouadio, Yao, Moussa, Ibrahim, Jean-Marc, Serge, Koffi, Kouamé, Konan, Kouakou,
    Adama, Seydou, Bakary, Souleymane, Lassina, Drissa, Mamadou, Yacouba, Arouna, Hervé,
    Didier, Franck, Guy-Roland, Armand, Wilfried, Arsène, Cédric, Ghislain,
    Jean-Baptiste, Ulrich, Yannick, Éric, Patrick, Ismaël, Abdoulaye, Karim, Fabrice,
    Landry, Steve, Emmanuel""")
