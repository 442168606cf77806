-- One row per delivered order line, typed, with the source's explicit rules applied as flags.
-- The rules are the source mapping's SQL predicates (configs/sources/*.yaml), passed as vars.
select
    run_date as order_date,
    source_file,
    line_no,
    order_id,
    customer_id,
    item_id,
    item_name,
    coalesce(category, 'unknown') as category,
    quantity,
    unit_price,
    ordered_at,
    coalesce(store, 'unknown') as store,
    coalesce(({{ var('cancellation_rule') }}), false) as is_cancellation,
    coalesce(({{ var('product_rule') }}), false) as is_product,
    quantity * unit_price as line_revenue
from {{ source('raw', 'order_lines') }}
