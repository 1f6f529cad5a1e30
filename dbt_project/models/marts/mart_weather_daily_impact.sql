{{ config(meta={'publish_by_day': 'flight_date', 'days_of': 'fct_flights'}) }}
-- Departures per day by the weather at the origin in the scheduled hour, as counts and sums that
-- add up across days: the weather analytics (assets/analytics.py) combine these instead of reading
-- every flight of the history, and a changed day rebuilds only its own rows.
-- A flight falls in the first condition that holds, most severe first. Thresholds follow aviation
-- practice: IFR below 3 miles visibility; 25 mph gusts are where crosswind limits start to bite
-- for regional jets. A missing measurement does not hold (the next condition is tried).
select
    flight_date,
    case
        when dep_visibility_mi < 3 then 'low visibility (< 3 mi)'
        when dep_precip_in > 0 then 'precipitation'
        when dep_wind_gust_mph >= 25 then 'strong wind (gusts >= 25 mph)'
        when dep_temp_f < 32 then 'freezing (< 32 F)'
        when has_weather then 'clear'
        else 'no observation'
    end as weather_condition,
    count(*) as flights,
    sum(dep_delay)::bigint as dep_delay_sum,
    count(dep_delay) as dep_delay_count,
    count(*) filter (where is_on_time) as flights_on_time,
    count(*) filter (where is_cancelled) as flights_cancelled
from {{ ref('fct_flights') }}
{{ changed_days_only('flight_date') }}
group by all
