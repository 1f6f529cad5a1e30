{{ config(meta={'publish_by_day': 'flight_date', 'days_of': 'flights'}) }}
-- Every departure, enriched with the airline, both airports, the aircraft and the weather at the
-- origin in the scheduled departure hour. Left joins throughout: a flight is never dropped because
-- its reference data is incomplete (see the relationship tests in _marts.yml for how often).
-- By day: a new or re-delivered day (flights or weather) rebuilds and republishes that day only;
-- new reference data touches every day (macros/dataops/changed_days.sql).
select
    f.flight_id,
    f.flight_date,
    f.carrier,
    al.carrier_name,
    f.flight,
    f.tailnum,
    f.origin,
    o.airport_name as origin_name,
    f.dest,
    d.airport_name as dest_name,
    f.sched_dep_time,
    f.dep_time,
    f.dep_delay,
    f.sched_arr_time,
    f.arr_time,
    f.arr_delay,
    f.air_time,
    f.distance,
    f.sched_dep_hour_utc,
    f.is_cancelled,
    f.is_diverted,
    f.is_on_time,
    p.manufacturer as plane_manufacturer,
    p.model as plane_model,
    p.year_built as plane_year_built,
    p.seats as plane_seats,
    w.temp_f as dep_temp_f,
    w.wind_speed_mph as dep_wind_speed_mph,
    w.wind_gust_mph as dep_wind_gust_mph,
    w.precip_in as dep_precip_in,
    w.visibility_mi as dep_visibility_mi,
    w.observed_hour_utc is not null as has_weather
from {{ ref('stg_flights') }} as f
left join {{ ref('stg_airlines') }} as al on f.carrier = al.carrier
left join {{ ref('stg_airports') }} as o on f.origin = o.faa
left join {{ ref('stg_airports') }} as d on f.dest = d.faa
left join {{ ref('stg_planes') }} as p on f.tailnum = p.tailnum
left join {{ ref('stg_weather') }} as w
    on f.origin = w.origin and f.sched_dep_hour_utc = w.observed_hour_utc
{{ changed_days_only('f.flight_date') }}
