package store

// migrations is the ordered schema history. migrations[i] is schema version
// i+1. Each entry runs in its own transaction together with the insert of its
// version into schema_migrations, so a migration is either fully applied and
// recorded or not at all. Never edit an entry that has shipped; append a new
// one instead.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE items (
	source     TEXT NOT NULL CHECK (source <> ''),
	key        TEXT NOT NULL CHECK (key <> ''),
	target     TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL DEFAULT '',
	url        TEXT NOT NULL DEFAULT '',
	title      TEXT NOT NULL DEFAULT '',
	author     TEXT NOT NULL DEFAULT '',
	created_at INTEGER CHECK (created_at IS NULL OR typeof(created_at) = 'integer'),
	closed_at  INTEGER CHECK (closed_at IS NULL OR typeof(closed_at) = 'integer'),
	updated_at INTEGER CHECK (updated_at IS NULL OR typeof(updated_at) = 'integer'),
	milestones TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(milestones)),
	labels     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
	signals    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(signals)),
	PRIMARY KEY (source, key)
) WITHOUT ROWID;

CREATE TABLE events (
	source     TEXT NOT NULL CHECK (source <> ''),
	id         TEXT NOT NULL CHECK (id <> ''),
	item_key   TEXT NOT NULL CHECK (item_key <> ''),
	at         INTEGER NOT NULL CHECK (typeof(at) = 'integer'),
	actor      TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL CHECK (kind <> ''),
	value      TEXT NOT NULL DEFAULT '',
	team       TEXT NOT NULL DEFAULT '',
	from_value TEXT NOT NULL DEFAULT '',
	to_value   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (source, id)
);

-- Serves Load's ORDER BY source, item_key, at, rowid: every index entry ends
-- with the rowid, so ties on at come out in insertion order without a sort.
CREATE INDEX events_by_item_at ON events (source, item_key, at);

CREATE TABLE milestones (
	source    TEXT NOT NULL CHECK (source <> ''),
	key       TEXT NOT NULL CHECK (key <> ''),
	title     TEXT NOT NULL DEFAULT '',
	url       TEXT NOT NULL DEFAULT '',
	due_at    INTEGER CHECK (due_at IS NULL OR typeof(due_at) = 'integer'),
	closed_at INTEGER CHECK (closed_at IS NULL OR typeof(closed_at) = 'integer'),
	PRIMARY KEY (source, key)
) WITHOUT ROWID;

CREATE TABLE team_members (
	source   TEXT NOT NULL CHECK (source <> ''),
	via      TEXT NOT NULL CHECK (via <> ''),
	team     TEXT NOT NULL CHECK (team <> ''),
	identity TEXT NOT NULL CHECK (identity <> ''),
	PRIMARY KEY (source, via, team, identity)
) WITHOUT ROWID;

CREATE TABLE cursors (
	source     TEXT NOT NULL CHECK (source <> ''),
	target     TEXT NOT NULL,
	name       TEXT NOT NULL CHECK (name <> ''),
	value      TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (source, target, name)
) WITHOUT ROWID;

CREATE TABLE etags (
	source     TEXT NOT NULL CHECK (source <> ''),
	target     TEXT NOT NULL,
	key        TEXT NOT NULL CHECK (key <> ''),
	etag       TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (source, target, key)
) WITHOUT ROWID;

CREATE VIEW items_readable AS
SELECT source, key, target, kind, url, title, author,
	strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created,
	strftime('%Y-%m-%dT%H:%M:%fZ', closed_at / 1000.0, 'unixepoch') AS closed,
	strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated,
	milestones, labels, signals
FROM items;

CREATE VIEW events_readable AS
SELECT rowid AS seq, source, id, item_key,
	strftime('%Y-%m-%dT%H:%M:%fZ', at / 1000.0, 'unixepoch') AS at,
	actor, kind, value, team, from_value, to_value
FROM events;

CREATE VIEW milestones_readable AS
SELECT source, key, title, url,
	strftime('%Y-%m-%dT%H:%M:%fZ', due_at / 1000.0, 'unixepoch') AS due,
	strftime('%Y-%m-%dT%H:%M:%fZ', closed_at / 1000.0, 'unixepoch') AS closed
FROM milestones;
`,
	// 2: current assignees, Jira status, team field value and components
	// on items (model.Item gained them).
	`
ALTER TABLE items ADD COLUMN assignees TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(assignees));
ALTER TABLE items ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN team_value TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN components TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(components));

DROP VIEW items_readable;
CREATE VIEW items_readable AS
SELECT source, key, target, kind, url, title, author,
	strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created,
	strftime('%Y-%m-%dT%H:%M:%fZ', closed_at / 1000.0, 'unixepoch') AS closed,
	strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated,
	milestones, labels, assignees, status, team_value, components, signals
FROM items;
`,
	// 3: identity facts (model.Identity): aliases an API reported for an
	// account, so the engine, not the collector, maps people to teams.
	// Events stored before keep the identity they were stored under (a
	// configured key or email), which the engine still matches.
	`
CREATE TABLE identities (
	source  TEXT NOT NULL CHECK (source <> ''),
	account TEXT NOT NULL CHECK (account <> ''),
	kind    TEXT NOT NULL CHECK (kind <> ''),
	value   TEXT NOT NULL CHECK (value <> ''),
	PRIMARY KEY (source, account, kind)
) WITHOUT ROWID;
`,
	// 4: the change sequence and packed events. item_changes holds, per
	// item, the sequence number of the last page that changed its record
	// or added one of its events, so a reader asks for the items changed
	// since the sequence it last saw (Reader.Items) instead of reading
	// everything. Every item and every item with events already stored
	// gets sequence 1: the first read after the migration sees all of
	// them as changed. item_events holds each item's events packed into
	// one string (packedEvent, in (at, rowid) order): a full read scans one
	// row per item instead of an index entry, a table seek and nine
	// columns per event. The events table stays the record (dedup by id,
	// Load).
	`
CREATE TABLE item_changes (
	source TEXT NOT NULL CHECK (source <> ''),
	key    TEXT NOT NULL CHECK (key <> ''),
	seq    INTEGER NOT NULL CHECK (typeof(seq) = 'integer' AND seq > 0),
	PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX item_changes_by_seq ON item_changes (seq);
INSERT INTO item_changes (source, key, seq)
	SELECT source, key, 1 FROM items
	UNION
	SELECT DISTINCT source, item_key, 1 FROM events;

CREATE TABLE item_events (
	source TEXT NOT NULL CHECK (source <> ''),
	key    TEXT NOT NULL CHECK (key <> ''),
	n      INTEGER NOT NULL,
	packed TEXT NOT NULL,
	PRIMARY KEY (source, key)
) WITHOUT ROWID;
INSERT INTO item_events (source, key, n, packed)
	SELECT source, item_key, count(*), group_concat(` + packedEvent + `, '' ORDER BY at, rowid)
	FROM events GROUP BY source, item_key;
`,
	// 5: stale packed events. Repacking an item's events in every page
	// that adds one made a full sync 7x slower (an item's events arrive
	// over many pages, so each page rewrote ever longer rows). A page now
	// only marks the item in stale_events; readers pack a marked item
	// from the events table on the fly, and Store.Repack rewrites the
	// marked rows of item_events in batches (the syncer runs it after
	// each recomputation).
	`
CREATE TABLE stale_events (
	source TEXT NOT NULL CHECK (source <> ''),
	key    TEXT NOT NULL CHECK (key <> ''),
	PRIMARY KEY (source, key)
) WITHOUT ROWID;

-- The highest events rowid whose item item_changes and stale_events
-- account for. Open compares it with the events table: a binary from
-- before this schema writing to the store leaves rows above it, whose
-- items are then marked changed and stale (TestOlderWriter).
CREATE TABLE tracked_events (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	upto INTEGER NOT NULL
);
INSERT INTO tracked_events (id, upto) SELECT 1, coalesce(max(rowid), 0) FROM events;
`,
	// 6: comment lists a source cut (comments.go): Jira Cloud's search
	// embeds the oldest 20 comments of an issue; the rest is fetched only
	// when it can change a figure. A row records how many the source has
	// (total), how many of the oldest are stored (fetched) and the instant
	// of the newest stored one (cut_at, unix ms); fetched < total: the
	// rest was deferred. Existing stores start with no rows: their
	// comment lists were fetched whole.
	`
CREATE TABLE comment_lists (
	source  TEXT NOT NULL CHECK (source <> ''),
	key     TEXT NOT NULL CHECK (key <> ''),
	target  TEXT NOT NULL,
	total   INTEGER NOT NULL CHECK (total >= 0),
	fetched INTEGER NOT NULL CHECK (fetched >= 0),
	cut_at  INTEGER,
	PRIMARY KEY (source, key)
) WITHOUT ROWID;
`,
	// 7: a partial index of the "blocked by" events, so a reader learns
	// whether any dependency edge is stored without scanning the events
	// (Reader.HasDependencies): the exporter then derives every item's
	// dependency node in its first walk after a start instead of walking
	// the store a second time once it meets the first edge.
	`
CREATE INDEX events_blocked_by ON events (source, item_key) WHERE kind = 'blocked_by_added';
`,
}
