-- The pair counts file of an embedded store (graph/pair_counts.py): each publication's members
-- (the objects of a pair property: its creators, its keywords; and of a dimension property:
-- its JEL and region roll-ups, its division, its year) and how many publications share every
-- unordered pair of members of a pair property (pair), or every combination of the members of
-- a dimension tally's properties (dimension). Terms are numbered once (term), so that a pair
-- or a combination is three integers. Each statement is named by the "-- name:" line above it.

-- name: schema
CREATE TABLE IF NOT EXISTS term (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS member (
  publication INTEGER NOT NULL, property INTEGER NOT NULL, member INTEGER NOT NULL,
  PRIMARY KEY (publication, property, member)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pair (
  property INTEGER NOT NULL, first INTEGER NOT NULL, second INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (property, first, second)
) WITHOUT ROWID;
-- what the store's pair tallies hold, as of the token: a refresh writes only the difference
CREATE TABLE IF NOT EXISTS tallied (
  property INTEGER NOT NULL, first INTEGER NOT NULL, second INTEGER NOT NULL,
  count INTEGER NOT NULL, rank INTEGER,
  PRIMARY KEY (property, first, second)
) WITHOUT ROWID;
-- a dimension tally (its name, as a term) -> publications per combination (second 0: none)
CREATE TABLE IF NOT EXISTS dimension (
  tally INTEGER NOT NULL, first INTEGER NOT NULL, second INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (tally, first, second)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- name: terms
SELECT iri, id FROM term;

-- name: add-term
INSERT INTO term (id, iri) VALUES (?, ?);

-- name: members-of
SELECT property, member FROM member WHERE publication = ?;

-- name: remove-members
DELETE FROM member WHERE publication = ?;

-- name: add-member
INSERT INTO member (publication, property, member) VALUES (?, ?, ?);

-- name: add-to-pair
INSERT INTO pair (property, first, second, count) VALUES (?, ?, ?, ?)
ON CONFLICT (property, first, second) DO UPDATE SET count = count + excluded.count;

-- name: drop-unshared-pair
DELETE FROM pair WHERE property = ? AND first = ? AND second = ? AND count <= 0;

-- name: add-to-dimension
INSERT INTO dimension (tally, first, second, count) VALUES (?, ?, ?, ?)
ON CONFLICT (tally, first, second) DO UPDATE SET count = count + excluded.count;

-- name: drop-empty-dimension
DELETE FROM dimension WHERE tally = ? AND first = ? AND second = ? AND count <= 0;

-- name: dimension-counts
SELECT f.iri, s.iri, d.count
FROM dimension AS d JOIN term AS f ON f.id = d.first LEFT JOIN term AS s ON s.id = d.second
WHERE d.tally = ?;

-- name: distribution
SELECT count, COUNT(*) FROM pair WHERE property = ? GROUP BY count;

-- name: pairs-from
SELECT f.iri, s.iri, p.count
FROM pair AS p JOIN term AS f ON f.id = p.first JOIN term AS s ON s.id = p.second
WHERE p.property = ? AND p.count >= ?;

-- name: tallied-of
SELECT f.iri, s.iri, t.count, t.rank
FROM tallied AS t JOIN term AS f ON f.id = t.first JOIN term AS s ON s.id = t.second
WHERE t.property = ?;

-- name: forget-tallied
DELETE FROM tallied WHERE property = ?;

-- name: add-tallied
INSERT INTO tallied (property, first, second, count, rank) VALUES (?, ?, ?, ?, ?);

-- name: clear
DELETE FROM tallied;
DELETE FROM dimension;
DELETE FROM member;
DELETE FROM pair;
DELETE FROM term;
DELETE FROM state;

-- name: token
SELECT value FROM state WHERE key = 'token';

-- name: set-token
INSERT INTO state (key, value) VALUES ('token', ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;
