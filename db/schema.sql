-- db/schema.sql -- the part of the Vision Zero database the handlers rely on.
--
-- Tables, columns and function names, arguments and result types are the
-- production ones (spec: visionzero.md section 4) so that the handlers run
-- against the real database unchanged; the bodies are written from the
-- semantics the spec gives.  Geometries are SRID 4326; distances in feet go
-- through SRID 2277 (NAD83 / Texas Central, US feet).  Loads into a stock
-- PostgreSQL 15 with PostGIS 3 after `CREATE EXTENSION postgis`.

-- Polygons crashes are assigned to.  Group 1 = intersection-level polygons;
-- service-road polygons have 'SVRD' in their description, in any case ("Svrd").
CREATE TABLE atd_txdot_locations (
    location_id    varchar(50) PRIMARY KEY,
    description    text NOT NULL,
    shape          geometry(MultiPolygon, 4326),
    location_group smallint
);
CREATE INDEX atd_txdot_locations_shape_gix ON atd_txdot_locations USING gist (shape);
CREATE INDEX atd_txdot_locations_group_idx ON atd_txdot_locations (location_group);

-- CR3 crash reports (the state's crash records).
CREATE TABLE atd_txdot_crashes (
    crash_id            integer PRIMARY KEY,
    latitude            double precision,
    longitude           double precision,
    latitude_primary    double precision,
    longitude_primary   double precision,
    latitude_geocoded   double precision,
    longitude_geocoded  double precision,
    position            geometry(Point, 4326),  -- kept equal to (longitude_primary, latitude_primary)
    location_id         varchar(50),
    austin_full_purpose char(1) CHECK (austin_full_purpose IN ('Y', 'N')),
    city_id             integer,
    rpt_road_part_id    integer,
    rpt_street_name     text,
    rpt_sec_street_name text,
    private_dr_fl       char(1) CHECK (private_dr_fl IN ('Y', 'N')),
    crash_sev_id        integer,  -- severity: picks the cost and speed-management weights
    est_comp_cost       numeric,  -- kept by the audit trigger (below), by unit
    est_comp_cost_crash_based numeric,  -- kept by the audit trigger, by crash
    est_econ_cost       numeric,  -- kept by the audit trigger
    speed_mgmt_points   numeric,  -- kept by the audit trigger
    atd_mode_category_metadata json,  -- the crash's units and their modes, kept by the audit trigger
    updated_by          text,
    last_update         timestamptz DEFAULT now()
);
CREATE INDEX atd_txdot_crashes_position_gix ON atd_txdot_crashes USING gist (position);
CREATE INDEX atd_txdot_crashes_location_idx ON atd_txdot_crashes (location_id);

-- Non-CR3 reports (police "blue forms").
CREATE TABLE atd_apd_blueform (
    case_id     integer PRIMARY KEY,
    latitude    double precision,
    longitude   double precision,
    position    geometry(Point, 4326),  -- kept equal to (longitude, latitude)
    location_id varchar(50),
    date        date,
    last_update timestamptz DEFAULT now()
);
CREATE INDEX atd_apd_blueform_position_gix ON atd_apd_blueform USING gist (position);

-- Highway main lanes, as used for CR3 and for non-CR3 reports.
CREATE TABLE cr3_mainlanes (
    id       serial PRIMARY KEY,
    name     text,
    geometry geometry(MultiLineString, 4326)
);
CREATE INDEX cr3_mainlanes_geometry_gix ON cr3_mainlanes USING gist (geometry);

CREATE TABLE non_cr3_mainlanes (
    id       serial PRIMARY KEY,
    name     text,
    geometry geometry(MultiLineString, 4326)
);
CREATE INDEX non_cr3_mainlanes_geometry_gix ON non_cr3_mainlanes USING gist (geometry);

-- Jurisdictions; id 5 is the city's full-purpose jurisdiction.
CREATE TABLE atd_jurisdictions (
    id                 integer PRIMARY KEY,
    city_name          text,
    jurisdiction_label text,
    geometry           geometry(MultiPolygon, 4326)
);
CREATE INDEX atd_jurisdictions_geometry_gix ON atd_jurisdictions USING gist (geometry);

-- Lookup tables and units, read by the crashes' audit trigger (below): the eight tables
-- production's trigger reads.  Only the columns the trigger reads; the production tables have more.
CREATE TABLE atd_txdot__est_comp_cost (
    est_comp_cost_id     integer PRIMARY KEY,  -- = crash_sev_id
    est_comp_cost_desc   varchar(64),
    est_comp_cost_amount numeric
);
CREATE TABLE atd_txdot__est_comp_cost_crash_based (
    est_comp_cost_id     integer PRIMARY KEY,  -- = crash_sev_id
    est_comp_cost_desc   varchar(64),
    est_comp_cost_amount numeric
);
CREATE TABLE atd_txdot__est_econ_cost (
    est_econ_cost_id     integer PRIMARY KEY,  -- = crash_sev_id
    est_econ_cost_desc   varchar(64),
    est_econ_cost_amount numeric
);
CREATE TABLE atd_txdot__speed_mgmt_lkp (
    speed_mgmt_id     integer PRIMARY KEY,  -- = crash_sev_id
    speed_mgmt_desc   varchar(64),
    speed_mgmt_points numeric
);
CREATE TABLE atd__mode_category_lkp (
    id                          integer PRIMARY KEY,
    atd_mode_category_mode_name varchar(64)
);
CREATE TABLE atd_txdot__veh_unit_desc_lkp (
    veh_unit_desc_id   integer PRIMARY KEY,
    veh_unit_desc_desc varchar(64)
);
CREATE TABLE atd_txdot__veh_body_styl_lkp (
    veh_body_styl_id   integer PRIMARY KEY,
    veh_body_styl_desc varchar(64)
);
CREATE TABLE atd_txdot_units (
    unit_id          serial PRIMARY KEY,
    crash_id         integer NOT NULL,
    unit_nbr         integer NOT NULL,
    veh_unit_desc_id integer,
    veh_body_styl_id integer
);
CREATE INDEX atd_txdot_units_crash_idx ON atd_txdot_units (crash_id);

INSERT INTO atd_txdot__est_comp_cost VALUES
    (0, 'UNKNOWN', 0), (1, 'INCAPACITATING INJURY', 3000000), (2, 'NON-INCAPACITATING INJURY', 250000),
    (3, 'POSSIBLE INJURY', 200000), (4, 'KILLED', 3500000), (5, 'NOT INJURED', 20000);
INSERT INTO atd_txdot__est_comp_cost_crash_based VALUES
    (0, 'UNKNOWN', 0), (1, 'INCAPACITATING INJURY', 2500000), (2, 'NON-INCAPACITATING INJURY', 200000),
    (3, 'POSSIBLE INJURY', 150000), (4, 'KILLED', 3000000), (5, 'NOT INJURED', 15000);
INSERT INTO atd_txdot__est_econ_cost VALUES
    (0, 'UNKNOWN', 0), (1, 'INCAPACITATING INJURY', 250000), (2, 'NON-INCAPACITATING INJURY', 70000),
    (3, 'POSSIBLE INJURY', 40000), (4, 'KILLED', 1600000), (5, 'NOT INJURED', 10000);
INSERT INTO atd_txdot__speed_mgmt_lkp VALUES
    (0, 'UNKNOWN', 0), (1, 'INCAPACITATING INJURY', 5), (2, 'NON-INCAPACITATING INJURY', 1),
    (3, 'POSSIBLE INJURY', 1), (4, 'KILLED', 10), (5, 'NOT INJURED', 0);
INSERT INTO atd__mode_category_lkp VALUES
    (1, 'MOTOR VEHICLE'), (3, 'MOTORCYCLE'), (5, 'BICYCLE'), (7, 'PEDESTRIAN'), (9, 'OTHER');
INSERT INTO atd_txdot__veh_unit_desc_lkp VALUES
    (1, 'MOTOR VEHICLE'), (3, 'PEDALCYCLIST'), (4, 'PEDESTRIAN'), (177, 'NON-CONTACT');
INSERT INTO atd_txdot__veh_body_styl_lkp VALUES
    (47, 'PASSENGER CAR, 4-DOOR'), (71, 'MOTORCYCLE'), (90, 'POLICE MOTORCYCLE');

-- Every change to a crash leaves its previous state here (the audit trigger below).  As in
-- production, the key column is change_log_id and its sequence is atd_txdot_change_log_id_seq
-- (not the name `serial` would give, atd_txdot_change_log_change_log_id_seq), owned by the
-- column so that pg_get_serial_sequence finds it: db/role.sql asks it, never guesses the name.
CREATE SEQUENCE atd_txdot_change_log_id_seq;
CREATE TABLE atd_txdot_change_log (
    change_log_id    integer PRIMARY KEY DEFAULT nextval('atd_txdot_change_log_id_seq'),
    record_id        integer NOT NULL,
    record_crash_id  integer,
    record_type      varchar(32) NOT NULL,
    record_json      json NOT NULL,
    update_timestamp timestamptz DEFAULT now(),
    updated_by       varchar(64)
);
ALTER SEQUENCE atd_txdot_change_log_id_seq OWNED BY atd_txdot_change_log.change_log_id;

-- The crashes' BEFORE triggers.  PostgreSQL runs BEFORE triggers of one event in the
-- alphabetical order of their names, and the order matters here:
--   atd_txdot_crashes_audit_log          (UPDATE) logs the old row, recomputes cost and modes;
--   atd_txdot_crashes_position_sync      (coordinates) keeps `position` equal to them;
--   atd_txdot_crashes_unplaced_full_purpose (every INSERT and UPDATE) reads the new position.
-- All three are SECURITY INVOKER (the default), as in production: they run with the
-- privileges of the role that updates the crash, so that role needs INSERT on the change log,
-- USAGE on its sequence and SELECT on the eight lookup tables (db/role.sql).

-- The audit trigger: enough of production's to need exactly the same privileges, on every
-- update whatever the crash: INSERT on atd_txdot_change_log (and USAGE on its sequence),
-- SELECT on atd_txdot__est_comp_cost, atd_txdot__est_comp_cost_crash_based,
-- atd_txdot__est_econ_cost, atd_txdot__speed_mgmt_lkp, atd_txdot_units,
-- atd__mode_category_lkp, atd_txdot__veh_body_styl_lkp and atd_txdot__veh_unit_desc_lkp.
-- The old row goes to the change log; the three estimated costs and the speed-management
-- points follow the severity; the modes of the crash's units follow their descriptions and
-- body styles.
CREATE FUNCTION atd_txdot_crashes_updates_audit_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO atd_txdot_change_log (record_id, record_crash_id, record_type, record_json, updated_by)
    VALUES (OLD.crash_id, OLD.crash_id, 'crashes', row_to_json(OLD), current_user);
    NEW.est_comp_cost := coalesce((SELECT k.est_comp_cost_amount FROM atd_txdot__est_comp_cost k
                                    WHERE k.est_comp_cost_id = coalesce(NEW.crash_sev_id, 0)), 0);
    NEW.est_comp_cost_crash_based := coalesce((SELECT k.est_comp_cost_amount FROM atd_txdot__est_comp_cost_crash_based k
                                                WHERE k.est_comp_cost_id = coalesce(NEW.crash_sev_id, 0)), 0);
    NEW.est_econ_cost := coalesce((SELECT k.est_econ_cost_amount FROM atd_txdot__est_econ_cost k
                                    WHERE k.est_econ_cost_id = coalesce(NEW.crash_sev_id, 0)), 0);
    NEW.speed_mgmt_points := coalesce((SELECT k.speed_mgmt_points FROM atd_txdot__speed_mgmt_lkp k
                                        WHERE k.speed_mgmt_id = coalesce(NEW.crash_sev_id, 0)), 0);
    NEW.atd_mode_category_metadata := (
        SELECT json_agg(json_build_object('unit_nbr', u.unit_nbr, 'mode', m.atd_mode_category_mode_name,
                                          'desc', d.veh_unit_desc_desc, 'body', b.veh_body_styl_desc)
                        ORDER BY u.unit_nbr)
          FROM atd_txdot_units u
          LEFT JOIN atd_txdot__veh_unit_desc_lkp d ON d.veh_unit_desc_id = u.veh_unit_desc_id
          LEFT JOIN atd_txdot__veh_body_styl_lkp b ON b.veh_body_styl_id = u.veh_body_styl_id
          LEFT JOIN atd__mode_category_lkp m ON m.id = CASE
                 WHEN u.veh_unit_desc_id = 3 THEN 5
                 WHEN u.veh_unit_desc_id = 4 THEN 7
                 WHEN u.veh_body_styl_id IN (71, 90) THEN 3
                 WHEN u.veh_unit_desc_id = 1 THEN 1
                 ELSE 9 END
         WHERE u.crash_id = NEW.crash_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER atd_txdot_crashes_audit_log
    BEFORE UPDATE ON atd_txdot_crashes
    FOR EACH ROW EXECUTE FUNCTION atd_txdot_crashes_updates_audit_log();

-- Position sync: `position` always follows the coordinate columns, whoever writes them.
CREATE FUNCTION atd_txdot_crashes_position_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.position := CASE
        WHEN NEW.longitude_primary IS NULL OR NEW.latitude_primary IS NULL THEN NULL
        ELSE ST_SetSRID(ST_MakePoint(NEW.longitude_primary, NEW.latitude_primary), 4326)
    END;
    RETURN NEW;
END
$$;
CREATE TRIGGER atd_txdot_crashes_position_sync
    BEFORE INSERT OR UPDATE OF latitude_primary, longitude_primary, position ON atd_txdot_crashes
    FOR EACH ROW EXECUTE FUNCTION atd_txdot_crashes_position_sync();

-- A crash without a position cannot be placed: production's BEFORE trigger then sets the
-- full-purpose flag to 'Y' when city_id = 22 (the city's 2023 generated column kept the rule:
-- without a position, city_id = 22 decides).  Whatever else writes the flag, this wins; the
-- jurisdiction handler gives the same answer so that the two never write against each other.
CREATE FUNCTION atd_txdot_crashes_unplaced_full_purpose() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position IS NULL AND NEW.city_id = 22 THEN
        NEW.austin_full_purpose := 'Y';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER atd_txdot_crashes_unplaced_full_purpose
    BEFORE INSERT OR UPDATE ON atd_txdot_crashes
    FOR EACH ROW EXECUTE FUNCTION atd_txdot_crashes_unplaced_full_purpose();

CREATE FUNCTION atd_apd_blueform_position_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.position := CASE
        WHEN NEW.longitude IS NULL OR NEW.latitude IS NULL THEN NULL
        ELSE ST_SetSRID(ST_MakePoint(NEW.longitude, NEW.latitude), 4326)
    END;
    RETURN NEW;
END
$$;
CREATE TRIGGER atd_apd_blueform_position_sync
    BEFORE INSERT OR UPDATE OF latitude, longitude, position ON atd_apd_blueform
    FOR EACH ROW EXECUTE FUNCTION atd_apd_blueform_position_sync();

-- The locations with their centroid as a column (production's view: Hasura cannot call
-- ST_Centroid, so clients read the centroid here).
CREATE VIEW atd_txdot_locations_with_centroids AS
    SELECT l.*, ST_Centroid(l.shape) AS centroid FROM atd_txdot_locations l;

-- Row order.  Production's functions that may return several rows have no ORDER BY, so
-- their first row depends on the plan.  These break ties deterministically: by
-- location_id (jurisdictions: by id), ascending.  A caller that takes the first row gets
-- the smallest location_id among equal candidates.

-- The group-1 locations whose shape contains the crash's point; the bounding
-- box test (&&) lets the GiST index on shape do the work.  Ordered by location_id.
CREATE FUNCTION find_location_for_cr3_collision(id integer) RETURNS SETOF atd_txdot_locations
LANGUAGE sql STABLE AS $$
    SELECT l.*
      FROM atd_txdot_crashes c
      JOIN atd_txdot_locations l ON c.position && l.shape AND ST_Contains(l.shape, c.position)
     WHERE c.crash_id = $1 AND l.location_group = 1
     ORDER BY l.location_id
$$;

-- The location_id alone: the first row of find_location_for_cr3_collision (the smallest
-- location_id), or NULL.
CREATE FUNCTION find_location_id_for_cr3_collision(id integer) RETURNS varchar
LANGUAGE sql STABLE AS $$
    SELECT f.location_id FROM find_location_for_cr3_collision($1) AS f LIMIT 1
$$;

CREATE FUNCTION find_location_for_noncr3_collision(id integer) RETURNS SETOF atd_txdot_locations
LANGUAGE sql STABLE AS $$
    SELECT l.*
      FROM atd_apd_blueform b
      JOIN atd_txdot_locations l ON b.position && l.shape AND ST_Contains(l.shape, b.position)
     WHERE b.case_id = $1 AND l.location_group = 1
     ORDER BY l.location_id
$$;

-- The crash, when it lies on a main lane as production decides it: first inside the
-- bounding box of the UNBUFFERED lane geometry (`position && geometry`; PostGIS boxes are
-- single precision rounded outwards, so the box of an east-west lane is a fraction of a
-- foot tall), then inside that lane buffered by one foot with flat caps.  So a point about
-- 0.7 to 1 ft off an east-west lane, or just past an end vertex, is not on it.  The
-- buffer is taken in SRID 2277 (US feet) with round joins and back to 4326.
CREATE FUNCTION find_cr3_mainlane_crash(cr3_crash_id integer) RETURNS SETOF atd_txdot_crashes
LANGUAGE sql STABLE AS $$
    SELECT c.*
      FROM atd_txdot_crashes c
     WHERE c.crash_id = $1
       AND EXISTS (SELECT 1 FROM cr3_mainlanes m
                    WHERE c.position && m.geometry
                      AND ST_Contains(ST_Transform(ST_Buffer(ST_Transform(m.geometry, 2277), 1,
                                                             'endcap=flat join=round'), 4326),
                                      c.position))
$$;

CREATE FUNCTION find_noncr3_mainlane_crash(ncr3_case_id integer) RETURNS SETOF atd_apd_blueform
LANGUAGE sql STABLE AS $$
    SELECT b.*
      FROM atd_apd_blueform b
     WHERE b.case_id = $1
       AND EXISTS (SELECT 1 FROM non_cr3_mainlanes m
                    WHERE b.position && m.geometry
                      AND ST_Contains(ST_Transform(ST_Buffer(ST_Transform(m.geometry, 2277), 1,
                                                             'endcap=flat join=round'), 4326),
                                      b.position))
$$;

CREATE FUNCTION find_crash_in_jurisdiction(jurisdiction_id integer, given_crash_id integer)
RETURNS SETOF atd_txdot_crashes
LANGUAGE sql STABLE AS $$
    SELECT c.*
      FROM atd_txdot_crashes c
      JOIN atd_jurisdictions j ON j.id = $1
     WHERE c.crash_id = $2
       AND c.position && j.geometry
       AND ST_Contains(j.geometry, c.position)
$$;

-- The jurisdictions whose geometry contains the crash, ordered by id.
CREATE FUNCTION find_crash_jurisdictions(given_crash_id integer) RETURNS SETOF atd_jurisdictions
LANGUAGE sql STABLE AS $$
    SELECT j.*
      FROM atd_txdot_crashes c
      JOIN atd_jurisdictions j ON c.position && j.geometry AND ST_Contains(j.geometry, c.position)
     WHERE c.crash_id = $1
     ORDER BY j.id
$$;

-- The service-road location a main-lane crash belongs to, looking to the
-- right of its direction of travel (spec section 4):
--   * only a crash inside jurisdiction 5, with private_dr_fl = 'N' (a NULL flag does not
--     qualify), with rpt_road_part_id in (2,3,4,5,7), on a main lane -- here, as in
--     production, the UNION of all CR3 lanes buffered one foot with the default ROUND end
--     caps (no bounding-box test), so a point just past a lane's end counts, unlike in
--     find_cr3_mainlane_crash;
--   * the direction is the letter captured by \s?([nsew])[arthous]*\s??b(oun)?d?
--     on the lower-cased street name and secondary street name; when they
--     disagree, west wins over north over east over south.  (As in production,
--     "WESTBOUND" does not match: 'e' is not in [arthous]; "WB" does.)
--   * westbound looks north (0 degrees), northbound east (90), eastbound south
--     (180), southbound west (270), within +-65 degrees inclusive, among locations whose
--     description contains SVRD in any case ("Svrd" counts) and whose shape meets a
--     750-foot buffer around the crash;
--   * the azimuth is ST_Azimuth(crash, centroid) * 180 / pi(), as in production
--     (degrees() differs in the last bit, which matters at the exact edge of the cone);
--   * azimuth and nearest-centroid distance are planar in degrees, as in
--     production, so that answers match; equally near centroids: the smallest location_id.
CREATE FUNCTION find_service_road_location_for_centerline_crash(input_crash_id integer)
RETURNS SETOF atd_txdot_locations
LANGUAGE plpgsql STABLE AS $$
DECLARE
    crash     record;
    letters   text[];
    target    double precision;
    search    geometry;
    pattern   constant text := '\s?([nsew])[arthous]*\s??b(oun)?d?';
BEGIN
    SELECT c.position, c.rpt_road_part_id, c.private_dr_fl,
           lower(coalesce(c.rpt_street_name, '')) AS street,
           lower(coalesce(c.rpt_sec_street_name, '')) AS sec_street
      INTO crash
      FROM atd_txdot_crashes c
     WHERE c.crash_id = input_crash_id;
    IF NOT FOUND OR crash.position IS NULL
       OR crash.private_dr_fl IS DISTINCT FROM 'N'
       OR crash.rpt_road_part_id IS NULL OR crash.rpt_road_part_id NOT IN (2, 3, 4, 5, 7) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM atd_jurisdictions j
                    WHERE j.id = 5 AND crash.position && j.geometry
                      AND ST_Contains(j.geometry, crash.position)) THEN
        RETURN;
    END IF;
    -- Only lanes within a few feet can reach the point through a one-foot buffer: the wide
    -- box (0.0001 degree, about 30 ft) lets the index pick them without changing the answer.
    IF NOT coalesce((SELECT ST_Contains(ST_Transform(ST_Buffer(ST_Transform(ST_Union(m.geometry), 2277), 1), 4326),
                                        crash.position)
                       FROM cr3_mainlanes m
                      WHERE m.geometry && ST_Expand(crash.position, 0.0001)), false) THEN
        RETURN;
    END IF;

    letters := ARRAY[(regexp_match(crash.street, pattern))[1], (regexp_match(crash.sec_street, pattern))[1]];
    target := CASE
        WHEN 'w' = ANY (letters) THEN 0
        WHEN 'n' = ANY (letters) THEN 90
        WHEN 'e' = ANY (letters) THEN 180
        WHEN 's' = ANY (letters) THEN 270
    END;
    IF target IS NULL THEN
        RETURN;
    END IF;

    search := ST_Transform(ST_Buffer(ST_Transform(crash.position, 2277), 750), 4326);
    RETURN QUERY
        SELECT l.*
          FROM atd_txdot_locations l,
               LATERAL (SELECT ST_Azimuth(crash.position, ST_Centroid(l.shape)) * 180 / pi() AS deg) AS a
         WHERE l.description ILIKE '%SVRD%'
           AND l.shape && search
           AND ST_Intersects(l.shape, search)
           AND least(abs(a.deg - target), 360 - abs(a.deg - target)) <= 65
         ORDER BY ST_Distance(ST_Centroid(l.shape), crash.position), l.location_id
         LIMIT 1;
END
$$;
