-- What known customers bought: non-cancelled product lines with a customer (any price).
-- A customer's purchases and orders (docs/evaluation.md) are counted from these lines only.
select *
from {{ ref('stg_order_lines_classified') }}
where customer_id is not null
  and is_product
  and not is_cancellation
