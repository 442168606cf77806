select
    item_id,
    item_name,
    coalesce(category, 'unknown') as category,
    launch_date,
    list_price
from {{ source('raw', 'catalogue') }}
