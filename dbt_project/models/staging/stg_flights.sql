-- One row per scheduled departure, with a stable key and the derived fields every mart needs.
select
    md5(concat_ws('|', {{ primary_key('raw', 'flights') | join(', ') }})) as flight_id,
    _partition_date as flight_date,
    carrier,
    flight,
    tailnum,
    origin,
    dest,
    sched_dep_time,
    dep_time,
    dep_delay,
    sched_arr_time,
    arr_time,
    arr_delay,
    air_time,
    distance,
    hour as sched_dep_hour,
    time_hour as sched_dep_hour_utc,
    -- No departure time means the flight never left: the feed's way of saying cancelled.
    dep_time is null as is_cancelled,
    -- Departed but no arrival delay: landed elsewhere (diverted) or the arrival was not recorded.
    dep_time is not null and arr_delay is null as is_diverted,
    -- The US DOT definition: arrived less than 15 minutes after schedule.
    coalesce(arr_delay < 15, false) as is_on_time,
    _source_file as source_file
from {{ source('raw', 'flights') }}
