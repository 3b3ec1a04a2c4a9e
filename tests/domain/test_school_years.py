import psycopg
import pytest

from tests.fix_domain import World, new_id


@pytest.mark.parametrize("new_first", [False, True])
def test_experiment(world: World, pg: psycopg.Connection, new_first: bool) -> None:
    sid = world.first.school_id
    old = world.first.school_year_id
    new = new_id()
    pg.execute("INSERT INTO school_years (id, school_id, school_year_template_id, name, starts_on, ends_on) VALUES (%s,%s,%s,'x','2026-09-01','2027-07-01')", [new, sid, world.next_template_id])
    if new_first:
        # move old row physically after the new one
        pg.execute("UPDATE school_years SET name = name || '' WHERE id = %s", [old])
        pg.execute("VACUUM school_years")
    print(pg.execute("SELECT ctid, id = %s, status FROM school_years WHERE school_id = %s", [new, sid]).fetchall())
    try:
        pg.execute("BEGIN")
        pg.execute("UPDATE school_years SET status = CASE WHEN id = %(id)s THEN 'active' ELSE 'closed' END WHERE school_id = %(s)s AND (status = 'active' OR id = %(id)s)", {"id": new, "s": sid})
        print("CASE ok")
    except psycopg.Error as e:
        print("CASE failed", e)
    pg.execute("ROLLBACK")
    for setting in ("on", "off"):
        pg.execute("BEGIN")
        pg.execute(f"SET LOCAL enable_seqscan = {setting}")
        try:
            cur = pg.execute("""
WITH closed AS (
  UPDATE school_years SET status = 'closed'
  WHERE school_id = %(s)s AND status = 'active' AND id <> %(id)s
  RETURNING id
)
UPDATE school_years SET status = 'active'
WHERE id = %(id)s AND school_id = %(s)s
""", {"id": new, "s": sid})
            print("CTE ok", setting, cur.rowcount)
        except psycopg.Error as e:
            print("CTE failed", setting, e)
        pg.execute("ROLLBACK")
    assert False
