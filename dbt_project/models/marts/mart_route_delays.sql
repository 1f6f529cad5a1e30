-- Delay profile of each route (origin -> destination) over all loaded days.
select
    origin,
    dest,
    any_value(dest_name) as dest_name,
    count(distinct carrier) as carriers,
    round(avg(distance), 0) as distance_mi,
    round(avg(air_time), 1) as avg_air_time_min,
    round(count(*) filter (where arr_delay >= 15) / nullif(count(arr_delay), 0), 4) as delayed_15_rate,
    {{ performance_measures() }}
from {{ ref('fct_flights') }}
group by origin, dest
