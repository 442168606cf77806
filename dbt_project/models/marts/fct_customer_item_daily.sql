{{ config(pre_hook="{{ delete_window('order_date') }}") }}
{% set window = run_window() %}
-- Customer x item interactions per day: what each known customer bought (non-cancelled product
-- lines, any price). Lines without a customer count for demand only, not here.
select
    order_date,
    customer_id,
    item_id,
    {{ latest("category", "ordered_at") }} as category,
    count(distinct order_id) as orders,
    cast(sum(quantity) as bigint) as units,
    round(sum(line_revenue), 2) as revenue
from {{ ref('stg_purchase_lines') }}
where order_date between {{ start_date(window) }} and {{ end_date(window) }}
group by order_date, customer_id, item_id
