{{ config(pre_hook="{{ delete_as_of() }}") }}
{% set window = run_window() %}
-- Item features as of the window's last day, for every item sellable then: a product sold in the
-- 90 days up to it, or a catalogue item already launched (sold or not). Only data up to as_of_date.
with history as (
    select * from {{ ref('fct_item_daily_demand') }}
    where order_date <= {{ end_date(window) }}
),

stats as (
    select
        item_id,
        min(order_date) filter (where units > 0) as first_sale_date,
        max(order_date) filter (where units > 0) as last_sale_date,
        {{ latest("item_name", "order_date") }} as item_name,
        {{ latest("category", "order_date") }} as category,
        cast(coalesce(sum(units) filter (where {{ within_days('order_date', 7, window) }}), 0) as bigint) as units_7d,
        cast(coalesce(sum(units) filter (where {{ within_days('order_date', 28, window) }}), 0) as bigint) as units_28d,
        cast(coalesce(sum(units) filter (where {{ within_days('order_date', 90, window) }}), 0) as bigint) as units_90d,
        cast(coalesce(sum(orders) filter (where {{ within_days('order_date', 28, window) }}), 0) as bigint) as orders_28d,
        round(coalesce(sum(revenue) filter (where {{ within_days('order_date', 28, window) }}), 0), 2) as revenue_28d,
        count(*) filter (where units > 0 and {{ within_days('order_date', 28, window) }}) as active_days_28d,
        round(sum(revenue) filter (where {{ within_days('order_date', 90, window) }})
            / nullif(sum(units) filter (where {{ within_days('order_date', 90, window) }}), 0), 4) as mean_price_90d,
        min(mean_price) filter (where {{ within_days('order_date', 90, window) }}) as min_price_90d,
        max(mean_price) filter (where {{ within_days('order_date', 90, window) }}) as max_price_90d,
        count(*) filter (where is_promo and {{ within_days('order_date', 28, window) }}) as promo_days_28d
    from history
    group by item_id
),

catalogue as (
    select * from {{ ref('stg_catalogue') }} where launch_date <= {{ end_date(window) }}
),

sellable as (
    select item_id from stats
    where last_sale_date > {{ end_date(window) }} - {{ var('sellable_window_days') }}
    union
    select item_id from catalogue
)

select
    {{ end_date(window) }} as as_of_date,
    sellable.item_id,
    coalesce(stats.item_name, catalogue.item_name) as item_name,
    coalesce(nullif(stats.category, 'unknown'), catalogue.category, 'unknown') as category,
    catalogue.launch_date,
    catalogue.list_price,
    stats.first_sale_date,
    stats.last_sale_date,
    {{ end_date(window) }} - stats.first_sale_date as history_days,
    {{ end_date(window) }} - least(catalogue.launch_date, stats.first_sale_date) as age_days,
    coalesce(stats.units_7d, 0) as units_7d,
    coalesce(stats.units_28d, 0) as units_28d,
    coalesce(stats.units_90d, 0) as units_90d,
    coalesce(stats.orders_28d, 0) as orders_28d,
    coalesce(stats.revenue_28d, 0) as revenue_28d,
    coalesce(stats.active_days_28d, 0) as active_days_28d,
    coalesce(stats.mean_price_90d, catalogue.list_price) as mean_price_90d,
    stats.min_price_90d,
    stats.max_price_90d,
    coalesce(stats.promo_days_28d, 0) as promo_days_28d,
    case
        when stats.first_sale_date is null
          or {{ end_date(window) }} - stats.first_sale_date < {{ var('cold_item_days') }} then 'cold'
        else 'warm'
    end as segment
from sellable
left join stats using (item_id)
left join catalogue using (item_id)
