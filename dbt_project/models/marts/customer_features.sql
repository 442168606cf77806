{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_as_of() }}",
) }}
-- RFM, tenure and category mix as of the window's last day, for every customer with at least
-- one order up to it. Only data up to as_of_date.
with history as (
    select * from {{ ref('fct_customer_daily') }}
    where order_date <= {{ end_date() }}
),

rfm as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        cast(sum(orders) as bigint) as orders,
        cast(coalesce(sum(orders) filter (where {{ within_days('order_date', 90) }}), 0) as bigint) as orders_90d,
        cast(sum(units) as bigint) as units,
        round(sum(revenue), 2) as revenue,
        {{ latest("store", "order_date") }} as store
    from history
    group by customer_id
),

category_units as (
    select customer_id, category, sum(units) as units
    from {{ ref('fct_customer_item_daily') }}
    where order_date <= {{ end_date() }} and units > 0
    group by customer_id, category
),

category_mix as (
    select
        customer_id,
        map(list(category order by category), list(units / total order by category)) as category_mix,
        count(*) as categories
    from (
        select *, sum(units) over (partition by customer_id) as total from category_units
    )
    group by customer_id
)

select
    {{ end_date() }} as as_of_date,
    rfm.customer_id,
    rfm.store,
    rfm.first_order_date,
    rfm.last_order_date,
    {{ end_date() }} - rfm.first_order_date as tenure_days,
    {{ end_date() }} - rfm.last_order_date as recency_days,
    rfm.orders as frequency,
    rfm.orders_90d,
    rfm.revenue as monetary,
    round(rfm.revenue / rfm.orders, 2) as mean_order_value,
    rfm.units,
    coalesce(category_mix.categories, 0) as categories,
    category_mix.category_mix,
    case when rfm.orders <= 2 then 'cold' else 'warm' end as segment
from rfm
left join category_mix using (customer_id)
