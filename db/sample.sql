-- db/sample.sql -- a small synthetic city near Austin with a known answer for every branch.
--
-- Re-runnable: it empties the tables first, so tests load it to reset state.
-- Layout (longitude, latitude; 0.0001 degree is about 31 ft east-west, 36 ft north-south):
--   IH 35   main lane, north-south along longitude -97.7300, latitude 30.25 .. 30.29
--   US 290  main lane, east-west along latitude 30.2600, longitude -97.76 .. -97.70
--   jurisdiction 5 (full purpose) covers longitude -97.77 .. -97.72; 6 is the neighbour to the east
--   service roads (SVRD, group 1) on both sides of both highways; intersections (group 1);
--   a group-2 polygon (never used for assignment);
--   service roads of group 2, 0 and NULL and an L-shaped one (its centroid outside it) along
--   IH 35 at latitudes 30.2535 and 30.2660, some spelled "svrd"/"Svrd": the crashes moved to
--   them keep them on the next delivery (the fixed point);
--   a service road at the south end of IH 35, for the round-capped lane ends of the
--   service-road function; one north of US 290 exactly at the edge of a crash's cone.
-- Main lanes are segmentized (every 0.0005 degree) so that a lane of constant
-- latitude stays within a ten-thousandth of a foot of its curve in SRID 2277.
-- The expected answer of every crash is in its comment and in tests/it_handlers.c.
BEGIN;
TRUNCATE atd_txdot_crashes, atd_apd_blueform, atd_txdot_locations, cr3_mainlanes, non_cr3_mainlanes,
         atd_jurisdictions, atd_txdot_units, atd_txdot_change_log RESTART IDENTITY;

INSERT INTO atd_jurisdictions (id, city_name, jurisdiction_label, geometry) VALUES
    (5, 'AUSTIN', 'AUSTIN FULL PURPOSE', ST_Multi(ST_MakeEnvelope(-97.7700, 30.2400, -97.7200, 30.3000, 4326))),
    (6, 'AUSTIN', 'AUSTIN LIMITED PURPOSE', ST_Multi(ST_MakeEnvelope(-97.7200, 30.2400, -97.6900, 30.3000, 4326)));

INSERT INTO cr3_mainlanes (name, geometry) VALUES
    ('IH 35', ST_Multi(ST_Segmentize(ST_GeomFromText('LINESTRING(-97.7300 30.2500, -97.7300 30.2900)', 4326), 0.0005))),
    ('US 290', ST_Multi(ST_Segmentize(ST_GeomFromText('LINESTRING(-97.7600 30.2600, -97.7000 30.2600)', 4326), 0.0005)));
INSERT INTO non_cr3_mainlanes (name, geometry) SELECT name, geometry FROM cr3_mainlanes;

INSERT INTO atd_txdot_locations (location_id, description, location_group, shape)
SELECT id, d, g, ST_Multi(ST_MakeEnvelope(x0, y0, x1, y1, 4326))
  FROM (VALUES
    ('INT-1',        'CONGRESS AVE / E 6TH ST',        1, -97.7455, 30.2695, -97.7445, 30.2705),
    ('INT-AB',       'IH 35 / US 290 INTERCHANGE',     1, -97.7305, 30.2595, -97.7295, 30.2605),
    ('GRP2-1',       'LEVEL 2 CORRIDOR POLYGON',       2, -97.7555, 30.2795, -97.7545, 30.2805),
    ('SVRD-A-E1',    'IH 35 SVRD NB',                  1, -97.7296, 30.2750, -97.7290, 30.2770),
    ('SVRD-A-E2',    'IH 35 SVRD NB OUTER',            1, -97.7286, 30.2750, -97.7280, 30.2770),
    ('SVRD-A-W',     'IH 35 SVRD SB',                  1, -97.7310, 30.2750, -97.7304, 30.2770),
    ('SVRD-A-W2',    'IH 35 SVRD SB NORTH',            1, -97.7310, 30.2840, -97.7304, 30.2860),
    ('SVRD-B-N',     'US 290 SVRD WB',                 1, -97.7510, 30.2604, -97.7490, 30.2610),
    ('SVRD-B-S',     'US 290 SVRD EB',                 1, -97.7510, 30.2590, -97.7490, 30.2596),
    ('SVRD-B-N-OUT', 'US 290 SVRD WB (LIMITED)',       1, -97.7110, 30.2604, -97.7090, 30.2610),
    ('SVRD-G2',      'IH 35 SVRD NB (LEVEL 2)',        2, -97.7296, 30.2525, -97.7290, 30.2545),
    ('SVRD-G0',      'IH 35 svrd SB (level 0)',        0, -97.7310, 30.2525, -97.7304, 30.2545),
    ('SVRD-GN',      'IH 35 SVRD NB (NO GROUP)',    NULL, -97.7296, 30.2650, -97.7290, 30.2670),
    ('SVRD-END',     'IH 35 SVRD NB SOUTH END',        1, -97.7296, 30.2496, -97.7290, 30.2504),
    ('SVRD-EDGE',    'US 290 SVRD WB (CONE EDGE)',     1, -97.74146, 30.2605342, -97.74126, 30.2607342)
  ) AS t(id, d, g, x0, y0, x1, y1);
-- An L: a bar west of IH 35 and a foot along its south end; the centroid lies east of the bar.
INSERT INTO atd_txdot_locations (location_id, description, location_group, shape) VALUES
    ('SVRD-L', 'IH 35 Svrd SB (L)', 1,
     ST_Multi(ST_GeomFromText('POLYGON((-97.7312 30.2650, -97.7303 30.2650, -97.7303 30.2652, -97.7310 30.2652,
                                        -97.7310 30.2670, -97.7312 30.2670, -97.7312 30.2650))', 4326)));

-- CR3 crashes: id, coordinates, road part, street names, private drive, the
-- location and flag they start with; -- expected location / flag after the handlers.
INSERT INTO atd_txdot_crashes (crash_id, latitude_primary, longitude_primary, rpt_road_part_id, rpt_street_name,
                               rpt_sec_street_name, private_dr_fl, location_id, austin_full_purpose, city_id)
VALUES
    (1,  30.2700, -97.7450, 1, 'CONGRESS AVE', 'E 6TH ST', 'N', NULL,    'Y', 22),  -- INT-1 / Y (unchanged)
    (2,  30.2800, -97.7550, 1, 'LAMAR BLVD',  NULL,        'N', 'INT-1', 'N', 22),  -- NULL (group 2 only) / Y
    (3,  30.2950, -97.7650, 1, 'RURAL RD',    NULL,        'N', 'INT-1', 'N', 22),  -- NULL (nothing) / Y
    (4,  NULL,    NULL,     1, 'UNKNOWN',     NULL,        'N', 'INT-1', 'Y', 22),  -- NULL (no coordinates) / N
    (5,  30.2760, -97.7300, 2, 'IH 35 NB',    NULL,        'N', NULL,    'N', 22),  -- SVRD-A-E1, moved to its centroid / Y
    (6,  30.2765, -97.7300, 2, 'IH 35',       'SOUTHBOUND', 'N', NULL,   'N', 22),  -- SVRD-A-W, moved / Y
    (7,  30.2600, -97.7500, 3, 'US 290 EB',   NULL,        'N', NULL,    'N', 22),  -- SVRD-B-S, moved / Y
    (8,  30.2600, -97.7500, 4, 'US 290 WB',   NULL,        'N', NULL,    'N', 22),  -- SVRD-B-N, moved / Y
    (9,  30.2850, -97.7300, 2, 'IH 35 NB',    NULL,        'N', 'INT-1', 'N', 22),  -- NULL (only a SVRD to the left) / Y
    (10, 30.2760, -97.7300, 2, 'IH 35',       NULL,        'N', 'INT-1', 'N', 22),  -- NULL (no direction) / Y
    (11, 30.2760, -97.7300, 2, 'IH 35 NB',    NULL,        'Y', 'INT-1', 'N', 22),  -- NULL (private drive) / Y
    (12, 30.2760, -97.7300, 1, 'IH 35 NB',    NULL,        'N', 'INT-1', 'N', 22),  -- NULL (road part 1) / Y
    (13, 30.2600, -97.7100, 2, 'US 290 WB',   NULL,        'N', 'INT-1', 'Y', 22),  -- NULL (outside jurisdiction 5) / N
    (14, 30.2600, -97.7300, 2, 'IH 35 NB',    NULL,        'N', 'INT-AB', 'N', 22), -- NULL (main lane beats INT-AB) / Y
    (17, 30.2700, -97.7050, 1, 'FM 969',      NULL,        'N', NULL,    'Y', 22);  -- NULL / N

-- 15 and 16 sit half a foot and two feet east of the IH 35 main lane (offsets in SRID 2277).
INSERT INTO atd_txdot_crashes (crash_id, latitude_primary, longitude_primary, rpt_road_part_id, rpt_street_name,
                               private_dr_fl, location_id, austin_full_purpose, city_id)
SELECT id, ST_Y(p), ST_X(p), 2, 'IH 35 NB', 'N', 'INT-1', 'N', 22
  FROM (VALUES (15, 0.5), (16, 2.0)) AS t(id, feet),
       LATERAL (SELECT ST_Transform(ST_Translate(ST_Transform(ST_SetSRID(ST_MakePoint(-97.7300, 30.2760), 4326),
                                                              2277), feet, 0), 4326) AS p) AS q;
-- 15: SVRD-A-E1 (on the main lane), moved / Y;  16: NULL (off the main lane, in no polygon) / Y

-- The fixed point after the move, whatever the service road's group and shape, and the
-- production details of the service-road rule.
INSERT INTO atd_txdot_crashes (crash_id, latitude_primary, longitude_primary, rpt_road_part_id, rpt_street_name,
                               rpt_sec_street_name, private_dr_fl, location_id, austin_full_purpose, city_id)
VALUES
    (18, NULL,    NULL,     1, 'UNKNOWN',     NULL,        'N', NULL,    'Y', 48),  -- NULL / N (no position, city 48)
    (21, 30.2535, -97.7300, 2, 'IH 35 NB',    NULL,        'N', NULL,    'N', 22),  -- SVRD-G2 (group 2), moved / Y
    (22, 30.2535, -97.7300, 2, 'IH 35 SB',    NULL,        'N', NULL,    'N', 22),  -- SVRD-G0 ("svrd", group 0), moved / Y
    (23, 30.2660, -97.7300, 2, 'IH 35 NB',    NULL,        'N', NULL,    'N', 22),  -- SVRD-GN (group NULL), moved / Y
    (24, 30.2660, -97.7300, 2, 'IH 35 SB',    NULL,        'N', NULL,    'N', 22),  -- SVRD-L ("Svrd", L-shaped), moved / Y
    (25, 30.2660, -97.7300, 2, 'IH 35 NB',    NULL,        NULL, 'INT-1', 'N', 22), -- NULL (private_dr_fl NULL), main lane / Y
    -- 26 is on US 290, westbound (looks north, 0 degrees): SVRD-EDGE's centroid lies at azimuth
    -- ST_Azimuth * 180 / pi() = exactly 295, the cone's edge, so it counts; degrees() would
    -- give 294.99999999999994 and miss it.  SVRD-EDGE, moved / Y
    (26, 30.260000021580048, -97.73999999998956, 2, 'US 290 WB', NULL, 'N', NULL, 'N', 22);

-- 19 sits 0.8 ft north of US 290: inside the one-foot buffer, outside the (single precision)
-- bounding box of the unbuffered lane, so not on the main lane: NULL, in no polygon / Y.
-- 20 sits 0.3 ft south of IH 35's south end: outside the flat-capped buffer, so not on the
-- main lane: NULL / Y -- though find_service_road_location_for_centerline_crash, whose lanes
-- have round caps, answers SVRD-END for it.
INSERT INTO atd_txdot_crashes (crash_id, latitude_primary, longitude_primary, rpt_road_part_id, rpt_street_name,
                               private_dr_fl, location_id, austin_full_purpose, city_id)
SELECT id, ST_Y(p), ST_X(p), 2, street, 'N', NULL, 'N', 22
  FROM (VALUES (19, -97.7500, 30.2600, 0.8, 'US 290 EB'), (20, -97.7300, 30.2500, -0.3, 'IH 35 NB'))
           AS t(id, x, y, feet, street),
       LATERAL (SELECT ST_Transform(ST_Translate(ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 4326), 2277),
                                                 0, feet), 4326) AS p) AS q;

-- Units of crash 5, read by the audit trigger when a handler updates it.
INSERT INTO atd_txdot_units (crash_id, unit_nbr, veh_unit_desc_id, veh_body_styl_id) VALUES
    (5, 1, 1, 47), (5, 2, 3, NULL), (5, 3, 1, 71);
UPDATE atd_txdot_crashes SET crash_sev_id = 2 WHERE crash_id = 5;
TRUNCATE atd_txdot_change_log RESTART IDENTITY;

-- Non-CR3 reports; -- expected location.
INSERT INTO atd_apd_blueform (case_id, latitude, longitude, location_id) VALUES
    (101, 30.2700, -97.7450, NULL),     -- INT-1
    (102, 30.2760, -97.7300, 'INT-1'),  -- NULL (main lane)
    (103, 30.2950, -97.7650, NULL),     -- NULL (nothing; unchanged)
    (104, NULL,    NULL,     'INT-1'),  -- NULL (no coordinates)
    (105, 30.2760, -97.7293, NULL),     -- SVRD-A-E1 (inside the service-road polygon)
    (106, 30.2800, -97.7550, 'INT-1');  -- NULL (group 2 only)
-- 107 sits 0.8 ft north of US 290 inside INT-AB: outside the lane's bounding box, so INT-AB.
INSERT INTO atd_apd_blueform (case_id, latitude, longitude, location_id)
SELECT 107, ST_Y(p), ST_X(p), NULL
  FROM (SELECT ST_Transform(ST_Translate(ST_Transform(ST_SetSRID(ST_MakePoint(-97.7297, 30.2600), 4326), 2277),
                                         0, 0.8), 4326) AS p) AS q;  -- INT-AB
COMMIT;
