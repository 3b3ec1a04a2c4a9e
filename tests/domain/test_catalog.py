from tests.fix_domain import ScopedDb, World
from yeko_sql.bulk.copy import columns_of
from yeko_sql.ids import new_id


def test_tracks_are_listed_found_by_code_and_looked_up(
    db: ScopedDb, world: World
) -> None:
    assert [t.code for t in db.catalog.list_tracks()] == ["PC", "SC"]
    found = db.catalog.find_track_by_code(code="SC")
    assert found is not None
    assert found.id == world.track_ids["SC"]
    assert db.catalog.find_track_by_code(code="XX") is None
    by_code = {t.code: t.id for t in db.catalog.lookup_tracks()}
    assert by_code == world.track_ids


def test_grades_are_listed_in_order_per_track_and_looked_up(
    db: ScopedDb, world: World
) -> None:
    codes = [g.code for g in db.catalog.list_grades()]
    assert codes == ["6EME", "5EME", "4EME", "3EME", "2NDE", "1ERE", "TLE"]
    second_cycle = db.catalog.list_track_grades(track_id=world.track_ids["SC"])
    assert [g.code for g in second_cycle] == ["2NDE", "1ERE", "TLE"]
    assert db.catalog.list_track_grades(track_id=new_id()) == []
    found = db.catalog.find_grade_by_code(code="TLE")
    assert found is not None
    assert (found.name, found.sort_order) == ("Tle", 7)
    assert db.catalog.find_grade_by_code(code="CM2") is None
    lookup = {g.id: g for g in db.catalog.lookup_grades()}
    assert lookup[world.grade_ids["6EME"]].name == "6e"
    assert {g.code: i for i, g in lookup.items()} == world.grade_ids


def test_series_are_listed_per_track_found_by_code_and_looked_up(
    db: ScopedDb, world: World
) -> None:
    assert [s.code for s in db.catalog.list_series()] == ["A", "C", "D"]
    assert [
        s.code for s in db.catalog.list_track_series(track_id=world.track_ids["SC"])
    ] == ["A", "C", "D"]
    assert db.catalog.list_track_series(track_id=world.track_ids["PC"]) == []
    found = db.catalog.find_series_by_code(code="D")
    assert found is not None
    assert found.name == "Serie D"
    assert db.catalog.find_series_by_code(code="E") is None
    assert {s.code: s.id for s in db.catalog.lookup_series()} == world.series_ids


def test_subjects_are_listed_by_name_found_and_looked_up(
    db: ScopedDb, world: World
) -> None:
    names = [s.name for s in db.catalog.list_subjects()]
    assert names == sorted(names)
    assert len(names) == 7
    found = db.catalog.find_subject_by_name(name="EPS")
    assert found is not None
    assert (found.short_name, found.category) == ("EPS", "sports")
    assert db.catalog.find_subject_by_name(name="Latin") is None
    by_short = {s.short_name: s.id for s in db.catalog.lookup_subjects()}
    assert by_short == world.subject_ids


def test_upsert_tracks_and_series_insert_new_codes_and_count_changes(
    db: ScopedDb, world: World
) -> None:
    tracks = {
        "id": [new_id(), new_id()],
        "name": ["Second cycle (lycee)", "Tech"],
        "code": ["SC", "TE"],
    }
    assert db.catalog.upsert_tracks(**tracks) == 2
    assert db.catalog.upsert_tracks(**tracks) == 0
    tech = db.catalog.find_track_by_code(code="TE")
    assert tech is not None
    series = {
        "id": [new_id(), new_id()],
        "track_id": [world.track_ids["SC"], tech.id],
        "name": ["Serie A (lettres)", "Serie F"],
        "code": ["A", "F"],
    }
    assert db.catalog.upsert_series(**series) == 2
    assert db.catalog.upsert_series(**series) == 0
    assert [s.code for s in db.catalog.list_track_series(track_id=tech.id)] == ["F"]
    series_a = db.catalog.find_series_by_code(code="A")
    assert series_a is not None
    assert (series_a.id, series_a.name) == (world.series_ids["A"], "Serie A (lettres)")


def test_upsert_grades_and_subjects_keep_ids_and_count_changes(
    db: ScopedDb, world: World
) -> None:
    grades = {
        "id": [new_id(), new_id()],
        "track_id": [world.track_ids["PC"], world.track_ids["PC"]],
        "name": ["Sixieme", "CM2"],
        "code": ["6EME", "CM2"],
        "sort_order": [1, 8],
    }
    assert db.catalog.upsert_grades(**grades) == 2
    assert db.catalog.upsert_grades(**grades) == 0
    sixth = db.catalog.find_grade_by_code(code="6EME")
    assert sixth is not None
    assert (sixth.id, sixth.name) == (world.grade_ids["6EME"], "Sixieme")
    subjects = {
        "id": [new_id(), new_id()],
        "name": ["EPS", "Philosophie"],
        "short_name": ["SPORT", None],
        "category": ["sports", "literary"],
    }
    assert db.catalog.upsert_subjects(**subjects) == 2
    assert db.catalog.upsert_subjects(**subjects) == 0
    philo = db.catalog.find_subject_by_name(name="Philosophie")
    assert philo is not None
    assert (philo.short_name, philo.category) == (None, "literary")


def test_lookups_fed_back_to_the_upserts_change_nothing(
    db: ScopedDb, world: World
) -> None:
    assert db.catalog.upsert_tracks(**columns_of(db.catalog.lookup_tracks())) == 0
    assert db.catalog.upsert_grades(**columns_of(db.catalog.lookup_grades())) == 0
    assert db.catalog.upsert_subjects(**columns_of(db.catalog.lookup_subjects())) == 0
    series = db.catalog.list_series()
    fields = ["id", "track_id", "name", "code"]
    assert db.catalog.upsert_series(**columns_of(series, fields)) == 0
