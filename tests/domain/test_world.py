import psycopg

from tests.fix_domain import World


def test_the_world_fixture_builds_a_coherent_school_system(
    world: World, pg: psycopg.Connection
) -> None:
    counts: dict[str, int] = dict(
        pg.execute(
            "SELECT 'students', count(*) FROM students UNION ALL "
            "SELECT 'classes', count(*) FROM classes UNION ALL "
            "SELECT 'coefficients', count(*) FROM coefficient_templates"
        ).fetchall()
    )
    assert counts == {"students": 200, "classes": 20, "coefficients": 49}
    assert len(world.first.student_ids) == 100
