select run_date as order_date, source_file, line_no, rule, raw_record
from {{ source('raw', 'quarantine') }}
