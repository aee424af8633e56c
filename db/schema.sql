-- db/schema.sql -- the part of the Vision Zero database the handlers rely on.
--
-- Tables, columns and function names, arguments and result types are the
-- production ones (spec: visionzero.md section 4) so that the handlers run
-- against the real database unchanged; the bodies are written from the
-- semantics the spec gives.  Geometries are SRID 4326; distances in feet go
-- through SRID 2277 (NAD83 / Texas Central, US feet).  Loads into a stock
-- PostgreSQL 15 with PostGIS 3 after `CREATE EXTENSION postgis`.

-- Polygons crashes are assigned to.  Group 1 = intersection-level polygons;
-- service-road polygons have 'SVRD' in their description.
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

-- The group-1 locations whose shape contains the crash's point; the bounding
-- box test (&&) lets the GiST index on shape do the work.
CREATE FUNCTION find_location_for_cr3_collision(id integer) RETURNS SETOF atd_txdot_locations
LANGUAGE sql STABLE AS $$
    SELECT l.*
      FROM atd_txdot_crashes c
      JOIN atd_txdot_locations l ON c.position && l.shape AND ST_Contains(l.shape, c.position)
     WHERE c.crash_id = $1 AND l.location_group = 1
     ORDER BY l.location_id
$$;

CREATE FUNCTION find_location_for_noncr3_collision(id integer) RETURNS SETOF atd_txdot_locations
LANGUAGE sql STABLE AS $$
    SELECT l.*
      FROM atd_apd_blueform b
      JOIN atd_txdot_locations l ON b.position && l.shape AND ST_Contains(l.shape, b.position)
     WHERE b.case_id = $1 AND l.location_group = 1
     ORDER BY l.location_id
$$;

-- The crash, when it lies inside a main lane buffered by one foot (in SRID
-- 2277, flat end caps, round joins).  The box test widens the point by
-- 0.0001 degree (about 30 feet here) so that the index finds the lanes near it.
CREATE FUNCTION find_cr3_mainlane_crash(cr3_crash_id integer) RETURNS SETOF atd_txdot_crashes
LANGUAGE sql STABLE AS $$
    SELECT c.*
      FROM atd_txdot_crashes c
     WHERE c.crash_id = $1
       AND EXISTS (
           SELECT 1 FROM cr3_mainlanes m
            WHERE m.geometry && ST_Expand(c.position, 0.0001)
              AND ST_Contains(ST_Transform(ST_Buffer(ST_Transform(m.geometry, 2277), 1,
                                                     'endcap=flat join=round'), 4326),
                              c.position))
$$;

CREATE FUNCTION find_noncr3_mainlane_crash(ncr3_case_id integer) RETURNS SETOF atd_apd_blueform
LANGUAGE sql STABLE AS $$
    SELECT b.*
      FROM atd_apd_blueform b
     WHERE b.case_id = $1
       AND EXISTS (
           SELECT 1 FROM non_cr3_mainlanes m
            WHERE m.geometry && ST_Expand(b.position, 0.0001)
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

-- The service-road location a main-lane crash belongs to, looking to the
-- right of its direction of travel (spec section 4):
--   * only a crash inside jurisdiction 5, on a main lane (one-foot buffer),
--     not on a private drive, with rpt_road_part_id in (2,3,4,5,7);
--   * the direction is the letter captured by \s?([nsew])[arthous]*\s??b(oun)?d?
--     on the lower-cased street name and secondary street name; when they
--     disagree, west wins over north over east over south.  (As in production,
--     "WESTBOUND" does not match: 'e' is not in [arthous]; "WB" does.)
--   * westbound looks north (0 degrees), northbound east (90), eastbound south
--     (180), southbound west (270), within +-65 degrees, among 'SVRD' locations
--     whose shape meets a 750-foot buffer around the crash;
--   * azimuth and nearest-centroid distance are planar in degrees, as in
--     production, so that answers match.
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
       OR coalesce(crash.private_dr_fl, 'N') = 'Y'
       OR crash.rpt_road_part_id IS NULL OR crash.rpt_road_part_id NOT IN (2, 3, 4, 5, 7) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM atd_jurisdictions j
                    WHERE j.id = 5 AND crash.position && j.geometry
                      AND ST_Contains(j.geometry, crash.position)) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cr3_mainlanes m
                    WHERE m.geometry && ST_Expand(crash.position, 0.0001)
                      AND ST_Contains(ST_Transform(ST_Buffer(ST_Transform(m.geometry, 2277), 1,
                                                             'endcap=flat join=round'), 4326),
                                      crash.position)) THEN
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
          FROM atd_txdot_locations l
         WHERE l.description LIKE '%SVRD%'
           AND l.shape && search
           AND ST_Intersects(l.shape, search)
           AND least(abs(degrees(ST_Azimuth(crash.position, ST_Centroid(l.shape))) - target),
                     360 - abs(degrees(ST_Azimuth(crash.position, ST_Centroid(l.shape))) - target)) <= 65
         ORDER BY ST_Distance(ST_Centroid(l.shape), crash.position), l.location_id
         LIMIT 1;
END
$$;
