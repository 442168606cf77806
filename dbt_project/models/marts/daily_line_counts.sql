{{ config(pre_hook="{{ delete_window('order_date') }}") }}
{% set window = run_window() %}
-- What each day's lines counted for, rule by rule: the counts a reviewer reads every morning.
with days as (
    select cast(d as date) as order_date
    from range({{ start_date(window) }}, {{ end_date(window) }} + 1, interval 1 day) as t(d)
),

lines as (
    select
        order_date,
        count(*) as lines,
        count(*) filter (where line_class = 'demand') as demand_lines,
        count(*) filter (where line_class = 'cancellation') as cancellation_lines,
        count(*) filter (where line_class = 'non_product') as non_product_lines,
        count(*) filter (where line_class = 'zero_price') as zero_price_lines,
        count(*) filter (where customer_id is null) as lines_without_customer,
        count(distinct order_id) as orders,
        cast(sum(case when is_demand_line then quantity else 0 end) as bigint) as demand_units
    from {{ ref('stg_order_lines_classified') }}
    where order_date between {{ start_date(window) }} and {{ end_date(window) }}
    group by order_date
),

repeats as (
    -- exact repeats of another line of the same order: kept for demand, counted here
    select order_date, cast(sum(n - 1) as bigint) as repeated_lines
    from (
        select order_date, count(*) as n
        from {{ ref('stg_order_lines') }}
        where order_date between {{ start_date(window) }} and {{ end_date(window) }}
        group by order_date, order_id, customer_id, item_id, item_name, quantity, unit_price,
                 ordered_at, store
    )
    group by order_date
),

quarantined as (
    select order_date, count(*) as quarantined_lines
    from {{ ref('stg_quarantine') }}
    where order_date between {{ start_date(window) }} and {{ end_date(window) }}
    group by order_date
)

select
    days.order_date,
    coalesce(lines.lines, 0) as lines,
    coalesce(demand_lines, 0) as demand_lines,
    coalesce(cancellation_lines, 0) as cancellation_lines,
    coalesce(non_product_lines, 0) as non_product_lines,
    coalesce(zero_price_lines, 0) as zero_price_lines,
    coalesce(lines_without_customer, 0) as lines_without_customer,
    coalesce(repeated_lines, 0) as repeated_lines,
    coalesce(quarantined_lines, 0) as quarantined_lines,
    coalesce(orders, 0) as orders,
    coalesce(demand_units, 0) as demand_units
from days
left join lines using (order_date)
left join repeats using (order_date)
left join quarantined using (order_date)
