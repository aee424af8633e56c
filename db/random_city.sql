-- db/random_city.sql -- a random city full of edge cases, generated inside PostgreSQL.
--
-- usage: psql -v ON_ERROR_STOP=1 -v cells=N -v per_cell=M -v seed=S -f db/random_city.sql DATABASE
--   into a database holding db/schema.sql (it empties the tables first).  N cells of
--   0.01 degree (about 3,000 ft) in a grid of 20 columns, each with:
--   * a highway main lane of one of six kinds by cell number: vertical, horizontal, diagonal
--     (random angle), bent, two lanes touching end to end (two rows, the second at an angle),
--     multi-part (one row of two parts); segmentized every 0.0005 degree; the non-CR3 lanes
--     are the same except that every 7th cell has none;
--   * four polygons beside the lane, on both sides, 60 to 400 ft off it: rectangles, L-shapes
--     (centroid outside), triangles; groups 1, 1, 2, 0 and NULL; descriptions with SVRD in
--     mixed case ("SVRD", "Svrd", "svrd", "sVrD") or without it;
--   * three intersection polygons of group 1 that may overlap (ties: the smallest id wins);
--   * M crashes: within +-1.5 ft of a lane (anywhere along it, at its ends, at its joints),
--     inside and on the vertices of polygons, on jurisdiction borders, on a service road's
--     centroid already assigned to it, anywhere in the cell, and without coordinates (either
--     or both); every road part 1..8 and NULL; private_dr_fl 'N', 'Y' and NULL; street names
--     with every direction spelling (and some without); city_id 22, other and NULL; random
--     starting location and flag;
--   * non-CR3 reports at a third of the crashes' positions, with random starting locations.
--   Jurisdiction 5 covers the cells of columns not = 3 mod 4 (so several parts), with holes,
--   some over lanes; jurisdiction 6 covers the others, sharing borders with 5.
-- The same seed gives the same city.
SET client_min_messages = warning;
SELECT setseed(:seed) AS seeded \gset
BEGIN;
TRUNCATE atd_txdot_crashes, atd_apd_blueform, atd_txdot_locations, cr3_mainlanes, non_cr3_mainlanes,
         atd_jurisdictions, atd_txdot_units, atd_txdot_change_log RESTART IDENTITY;

CREATE TEMP TABLE rc_cell AS
SELECT k, k % 20 AS col, -97.95 + 0.01 * (k % 20) AS x0, 30.10 + 0.01 * (k / 20) AS y0,
       -97.95 + 0.01 * (k % 20) + 0.005 AS cx, 30.10 + 0.01 * (k / 20) + 0.005 AS cy,
       random() * 2 * pi() AS angle
  FROM generate_series(0, :cells - 1) AS k;

-- Main lanes, one or two rows per cell.
CREATE TEMP TABLE rc_lane AS
SELECT k, 'RC-' || k || '-' || part AS name, ST_Segmentize(g, 0.0005) AS g
  FROM rc_cell,
       LATERAL (VALUES
         (k % 6 = 0, 'A', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s))', cx, cy - 0.003, cx, cy + 0.003), 4326)),
         (k % 6 = 1, 'A', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s))', cx - 0.003, cy, cx + 0.003, cy), 4326)),
         (k % 6 = 2, 'A', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s))', cx - 0.003 * sin(angle),
                                                 cy - 0.003 * cos(angle), cx + 0.003 * sin(angle), cy + 0.003 * cos(angle)), 4326)),
         (k % 6 = 3, 'A', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s, %s %s))', cx - 0.003, cy - 0.001,
                                                 cx, cy + 0.001 * cos(angle), cx + 0.003, cy), 4326)),
         (k % 6 = 4, 'A', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s))', cx - 0.003, cy, cx, cy), 4326)),
         (k % 6 = 4, 'B', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s))', cx, cy,
                                                 cx + 0.003 * sin(angle), cy + 0.003 * cos(angle)), 4326)),
         (k % 6 = 5, 'A', ST_GeomFromText(format('MULTILINESTRING((%s %s, %s %s), (%s %s, %s %s))',
                                                 cx - 0.003, cy - 0.001, cx - 0.0005, cy - 0.001,
                                                 cx + 0.0005, cy + 0.001, cx + 0.003, cy + 0.001 + 0.001 * sin(angle)), 4326))
       ) AS l(wanted, part, g)
 WHERE wanted;
INSERT INTO cr3_mainlanes (name, geometry) SELECT name, g FROM rc_lane ORDER BY name;
INSERT INTO non_cr3_mainlanes (name, geometry) SELECT name, g FROM rc_lane WHERE k % 7 <> 3 ORDER BY name;

-- Polygons beside the lanes: a point at a random place along the lane, 60 to 400 ft to one side.
CREATE TEMP TABLE rc_side AS
SELECT k, n, ST_Transform(ST_Translate(p, -uy * side * off, ux * side * off), 4326) AS c,
       floor(random() * 3)::int AS shape_kind, random() AS grp, random() AS spell, 0.0001 + random() * 0.0003 AS s
  FROM (SELECT l.k, n, (n % 2) * 2 - 1 AS side, 60 + random() * 340 AS off,
               ST_LineInterpolatePoint(g2, f) AS p,
               (ST_X(ST_LineInterpolatePoint(g2, least(f + 0.01, 1))) - ST_X(ST_LineInterpolatePoint(g2, greatest(f - 0.01, 0))))
                 / ST_Distance(ST_LineInterpolatePoint(g2, least(f + 0.01, 1)), ST_LineInterpolatePoint(g2, greatest(f - 0.01, 0))) AS ux,
               (ST_Y(ST_LineInterpolatePoint(g2, least(f + 0.01, 1))) - ST_Y(ST_LineInterpolatePoint(g2, greatest(f - 0.01, 0))))
                 / ST_Distance(ST_LineInterpolatePoint(g2, least(f + 0.01, 1)), ST_LineInterpolatePoint(g2, greatest(f - 0.01, 0))) AS uy
          FROM (SELECT DISTINCT ON (k) k, ST_Transform(ST_GeometryN(g, 1), 2277) AS g2 FROM rc_lane ORDER BY k, name) AS l,
               generate_series(1, 4) AS n,
               LATERAL (SELECT 0.1 + random() * 0.8 + n * 0 + l.k * 0 AS f) AS ff) AS q;

INSERT INTO atd_txdot_locations (location_id, description, location_group, shape)
SELECT 'RS-' || k || '-' || n,
       'RC ' || k || ' HWY ' || CASE WHEN spell < 0.25 THEN 'SVRD' WHEN spell < 0.45 THEN 'Svrd'
                                     WHEN spell < 0.65 THEN 'svrd' WHEN spell < 0.85 THEN 'sVrD' ELSE 'SERVICE RD' END,
       CASE WHEN grp < 0.4 THEN 1 WHEN grp < 0.6 THEN 2 WHEN grp < 0.8 THEN 0 END,
       ST_Multi(CASE shape_kind
           WHEN 0 THEN ST_MakeEnvelope(ST_X(c) - s, ST_Y(c) - s / 2, ST_X(c) + s, ST_Y(c) + s / 2, 4326)
           WHEN 1 THEN ST_GeomFromText(format('POLYGON((%1$s %2$s, %3$s %2$s, %3$s %4$s, %5$s %4$s, %5$s %6$s, %1$s %6$s, %1$s %2$s))',
                                              ST_X(c) - s, ST_Y(c) - s, ST_X(c) + s, ST_Y(c) - s + s / 5,
                                              ST_X(c) - s + s / 5, ST_Y(c) + s), 4326)
           ELSE ST_GeomFromText(format('POLYGON((%s %s, %s %s, %s %s, %s %s))', ST_X(c) - s, ST_Y(c) - s, ST_X(c) + s,
                                       ST_Y(c) - s, ST_X(c), ST_Y(c) + s, ST_X(c) - s, ST_Y(c) - s), 4326)
       END)
  FROM rc_side;

-- Intersections, group 1, possibly overlapping one another.
INSERT INTO atd_txdot_locations (location_id, description, location_group, shape)
SELECT 'RI-' || k || '-' || n, 'RC ' || k || ' ST ' || n || ' / AVE', 1,
       ST_Multi(ST_MakeEnvelope(x, y, x + w, y + w, 4326))
  FROM rc_cell, generate_series(1, 3) AS n,
       LATERAL (SELECT x0 + 0.0005 + random() * 0.008 + n * 0 AS x, y0 + 0.0005 + random() * 0.008 AS y,
                       0.0003 + random() * 0.0012 AS w) AS b;
-- The third one of every other cell sits on the first (an exact tie).
UPDATE atd_txdot_locations l SET shape = f.shape
  FROM atd_txdot_locations f
 WHERE l.location_id LIKE 'RI-%-3' AND f.location_id = replace(l.location_id, '-3', '-1')
   AND split_part(l.location_id, '-', 2)::int % 2 = 0;

-- Jurisdictions: 5 = columns not 3 mod 4, minus holes (some on the lanes); 6 = the rest.
INSERT INTO atd_jurisdictions (id, city_name, jurisdiction_label, geometry)
SELECT 5, 'AUSTIN', 'AUSTIN FULL PURPOSE',
       ST_Multi(ST_Difference(
           ST_Union(ST_MakeEnvelope(x0, y0, x0 + 0.01, y0 + 0.01, 4326)) FILTER (WHERE col % 4 <> 3),
           ST_Union(ST_MakeEnvelope(cx - 0.0012 + (k % 3) * 0.001, cy - 0.0006, cx - 0.0004 + (k % 3) * 0.001,
                                    cy + 0.0006, 4326)) FILTER (WHERE col % 4 <> 3 AND k % 2 = 0)))
  FROM rc_cell
UNION ALL
SELECT 6, 'AUSTIN', 'AUSTIN LIMITED PURPOSE',
       ST_Multi(ST_Union(ST_MakeEnvelope(x0, y0, x0 + 0.01, y0 + 0.01, 4326)))
  FROM rc_cell WHERE col % 4 = 3
HAVING count(*) > 0;

-- Crash positions.  kind: 0-3 near a lane (along it), 4 near a lane's end, 5 near a joint,
-- 6 inside a polygon, 7 on a polygon's vertex, 8 on a jurisdiction's vertex, 9 on a service
-- road's centroid (assigned to it), 10 anywhere in the cell, 11 without coordinates.
CREATE TEMP TABLE rc_pos AS
SELECT k, i, (floor(random() * 12))::int AS kind, (random() * 3 - 1.5) AS perp, (random() * 3 - 1.5) AS along,
       random() AS f, random() AS pick
  FROM rc_cell, generate_series(1, :per_cell) AS i;

CREATE TEMP TABLE rc_point (k int, i int, kind int, p geometry, cur text);
-- near lanes: a random row and part of the cell, a point along it (or at an end, or at an
-- interior vertex), moved along and across the lane by up to 1.5 ft (SRID 2277).
INSERT INTO rc_point
SELECT q.k, q.i, q.kind,
       ST_Transform(ST_Translate(p0, ux * a - uy * q.perp, uy * a + ux * q.perp), 4326), NULL
  FROM (SELECT r.*, g2,
               CASE WHEN r.kind = 4 THEN CASE WHEN r.pick < 0.5 THEN 0 ELSE 1 END
                    WHEN r.kind = 5 THEN ST_LineLocatePoint(g2, ST_PointN(g2, 1 + (floor(r.pick * (ST_NPoints(g2))))::int))
                    ELSE r.f END AS t
          FROM rc_pos r
          JOIN LATERAL (SELECT ST_Transform(ST_GeometryN(l.g, 1 + (floor(r.f * ST_NumGeometries(l.g)))::int), 2277) AS g2
                          FROM rc_lane l WHERE l.k = r.k ORDER BY (hashint4(r.i) # hashtext(l.name)) LIMIT 1) AS lg ON true
         WHERE r.kind <= 5) AS q,
       LATERAL (SELECT ST_LineInterpolatePoint(g2, t) AS p0,
                       ST_LineInterpolatePoint(g2, greatest(t - 0.001, 0)) AS pa,
                       ST_LineInterpolatePoint(g2, least(t + 0.001, 1)) AS pb) AS pp,
       LATERAL (SELECT (ST_X(pb) - ST_X(pa)) / ST_Distance(pa, pb) AS ux, (ST_Y(pb) - ST_Y(pa)) / ST_Distance(pa, pb) AS uy,
                       CASE WHEN q.kind = 4 THEN q.along ELSE q.along / 10 END AS a) AS u;
-- polygons: inside (a random point of its box, kept if inside or not), on a vertex, on a centroid
INSERT INTO rc_point
SELECT r.k, r.i, r.kind,
       CASE r.kind
           WHEN 6 THEN ST_SetSRID(ST_MakePoint(ST_XMin(l.shape) + r.f * (ST_XMax(l.shape) - ST_XMin(l.shape)),
                                               ST_YMin(l.shape) + r.pick * (ST_YMax(l.shape) - ST_YMin(l.shape))), 4326)
           WHEN 7 THEN ST_PointN(ST_ExteriorRing(ST_GeometryN(l.shape, 1)), 1 + (floor(r.f * 4))::int)
           ELSE ST_Centroid(l.shape)
       END,
       CASE WHEN r.kind = 9 THEN l.location_id END
  FROM rc_pos r
  JOIN LATERAL (SELECT * FROM atd_txdot_locations l
                 WHERE l.location_id LIKE (CASE WHEN r.kind = 9 THEN 'RS-' ELSE 'R_-' END) || r.k || '-%'
                 ORDER BY hashint4(r.i) # hashtext(l.location_id) LIMIT 1) AS l ON true
 WHERE r.kind IN (6, 7, 9);
-- jurisdiction vertices: the one of 5 or 6 nearest to a random point of the cell
INSERT INTO rc_point
SELECT r.k, r.i, r.kind,
       (SELECT d.geom FROM atd_jurisdictions j, ST_DumpPoints(j.geometry) AS d
         WHERE j.id = 5 + (r.i % 2)
         ORDER BY d.geom <-> ST_SetSRID(ST_MakePoint(c.cx + (r.f - 0.5) * 0.01, c.cy + (r.pick - 0.5) * 0.01), 4326)
         LIMIT 1), NULL
  FROM rc_pos r JOIN rc_cell c USING (k)
 WHERE r.kind = 8;
INSERT INTO rc_point
SELECT r.k, r.i, r.kind,
       CASE WHEN r.kind = 10 THEN ST_SetSRID(ST_MakePoint(c.x0 + r.f * 0.01, c.y0 + r.pick * 0.01), 4326) END, NULL
  FROM rc_pos r JOIN rc_cell c USING (k)
 WHERE r.kind IN (10, 11);

INSERT INTO atd_txdot_crashes (crash_id, latitude_primary, longitude_primary, rpt_road_part_id, rpt_street_name,
                               rpt_sec_street_name, private_dr_fl, location_id, austin_full_purpose, city_id, crash_sev_id)
SELECT row_number() OVER (ORDER BY k, i) AS crash_id,
       CASE WHEN kind = 11 AND i % 3 = 1 THEN 30.1 + k * 0.0001 WHEN kind = 11 THEN NULL ELSE ST_Y(p) END,
       CASE WHEN kind = 11 AND i % 3 = 2 THEN -97.9 ELSE ST_X(p) END,
       (ARRAY[1, 2, 3, 4, 5, 6, 7, 8, NULL, 2, 3, 4])[1 + (hashint4(i * 7 + k) & 11)],
       'RC HWY ' || (ARRAY['NB', 'SB', 'EB', 'WB', 'Nb', 'sB', 'N/B', 'NORTHBOUND', 'SOUTHBOUND', 'WESTBOUND',
                           'E BND', 'EASTBOUND', '', 'S', 'W B', 'nbd'])[1 + (hashint4(i * 13 + k) & 15)],
       (ARRAY[NULL, NULL, NULL, 'SB', 'WB', 'EAST', 'NB FRONTAGE', NULL])[1 + (hashint4(i * 17 + k) & 7)],
       (ARRAY['N', 'N', 'N', 'N', 'Y', NULL, 'N', NULL])[1 + (hashint4(i * 19 + k) & 7)],
       coalesce(cur, CASE WHEN hashint4(i * 23 + k) & 3 = 0 THEN 'RI-' || k || '-1'
                          WHEN hashint4(i * 23 + k) & 3 = 1 THEN 'RS-' || k || '-2' END),
       (ARRAY['Y', 'N', NULL, 'N'])[1 + (hashint4(i * 29 + k) & 3)],
       (ARRAY[22, 22, 22, 48, NULL, 22, 22, 7])[1 + (hashint4(i * 31 + k) & 7)],
       (hashint4(i * 37 + k) & 7)
  FROM rc_point;

INSERT INTO atd_apd_blueform (case_id, latitude, longitude, location_id)
SELECT crash_id, latitude_primary, longitude_primary,
       CASE WHEN crash_id % 2 = 0 THEN 'RI-' || ((crash_id / 7) % :cells) || '-2' END
  FROM atd_txdot_crashes WHERE crash_id % 3 = 0;
INSERT INTO atd_txdot_units (crash_id, unit_nbr, veh_unit_desc_id, veh_body_styl_id)
SELECT crash_id, 1, (ARRAY[1, 3, 4, 1])[1 + crash_id % 4], (ARRAY[47, NULL, 71, 90])[1 + crash_id % 4]
  FROM atd_txdot_crashes WHERE crash_id % 5 = 0;
TRUNCATE atd_txdot_change_log RESTART IDENTITY;
COMMIT;
ANALYZE;
