{{ config(pre_hook="{{ delete_window('order_date') }}") }}
{% set window = run_window() %}
-- Per customer and day: orders (distinct order ids with a non-cancelled product line), spend.
select
    order_date,
    customer_id,
    count(distinct order_id) as orders,
    count(*) as lines,
    cast(sum(quantity) as bigint) as units,
    round(sum(line_revenue), 2) as revenue,
    {{ latest("store", "ordered_at") }} as store
from {{ ref('stg_purchase_lines') }}
where order_date between {{ start_date(window) }} and {{ end_date(window) }}
group by order_date, customer_id
