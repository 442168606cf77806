{{ config(pre_hook="{{ delete_window('order_date') }}") }}
{% set window = run_window() %}
-- Daily demand per product item: one row per item and day with any product line (days without
-- sales are absent and mean zero demand). Demand follows docs/evaluation.md: units on product lines
-- that are not cancellations and have a positive price; exact repeated lines are kept.

-- the promo flag compares a day's price with the prior 28 days': a first build aggregates
-- them from raw lines too, an incremental one reads them back from the days built already
{% set lead_days = 0 if is_incremental() else 28 %}

with window_lines as (
    select *
    from {{ ref('stg_order_lines_classified') }}
    where is_product
      and order_date between {{ start_date(window) }} - {{ lead_days }} and {{ end_date(window) }}
),

daily as (
    select
        order_date,
        item_id,
        cast(sum(case when is_demand_line then quantity else 0 end) as bigint) as units,
        round(sum(case when is_demand_line then line_revenue else 0 end), 2) as revenue,
        count(*) filter (where is_demand_line) as demand_lines,
        count(distinct order_id) filter (where is_demand_line) as orders,
        count(distinct customer_id) filter (where is_demand_line) as customers,
        cast(-sum(case when is_cancellation then quantity else 0 end) as bigint) as returned_units,
        {{ latest("item_name", "ordered_at") }} as item_name,
        {{ latest("category", "ordered_at") }} as category
    from window_lines
    group by order_date, item_id
),

priced as (
    select
        *,
        case when units > 0 then revenue / units end as mean_price
    from daily
    {% if is_incremental() %}
    -- days without a row had no price: the median skips them either way
    union all by name
    select order_date, item_id, mean_price
    from {{ this }}
    where order_date between {{ start_date(window) }} - 28 and {{ start_date(window) }} - 1
    {% endif %}
),

with_reference as (
    select
        *,
        median(mean_price) over (
            partition by item_id order by order_date
            range between interval 28 days preceding and interval 1 day preceding
        ) as reference_price
    from priced
)

select
    order_date,
    item_id,
    item_name,
    category,
    units,
    revenue,
    mean_price,
    reference_price,
    coalesce(mean_price < {{ var('promo_price_ratio') }} * reference_price, false) as is_promo,
    demand_lines,
    orders,
    customers,
    returned_units,
    isodow(order_date) as day_of_week,
    weekofyear(order_date) as week_of_year,
    month(order_date) as month,
    dayofyear(order_date) as day_of_year,
    isodow(order_date) >= 6 as is_weekend
from with_reference
where order_date between {{ start_date(window) }} and {{ end_date(window) }}
  and (demand_lines > 0 or returned_units <> 0)
