-- FAA airports with name, location and time zone.
select faa, name as airport_name, lat, lon, alt as altitude_ft, tz as utc_offset_h, dst, tzone
from {{ source('raw', 'airports') }}
