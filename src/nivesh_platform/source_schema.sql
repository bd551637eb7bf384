-- The contract between the app's PostgreSQL and the refresh DAGs: schema nivesh_training, one table (or view) per
-- model, the columns each model's query selects (images/contract/src/nivesh_contract/models/<model>.sql) and
-- recorded_at, when the app recorded the row (the refresh window is on it). `make run` with NIVESH_SOURCE_DB loads
-- the sample data into these tables; the tests load their data the same way.
CREATE SCHEMA IF NOT EXISTS nivesh_training;

CREATE TABLE IF NOT EXISTS nivesh_training.anomaly_transactions (
    transaction_id text PRIMARY KEY,
    user_id text NOT NULL,
    "timestamp" timestamp NOT NULL,  -- local time of the payment, as the app shows it
    amount double precision NOT NULL,
    merchant text NOT NULL,
    category text NOT NULL,
    is_anomaly integer NOT NULL,  -- 1: confirmed fraud or error
    anomaly_type text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS nivesh_training.credit_applications (
    applicant_id text PRIMARY KEY,
    age integer NOT NULL,
    annual_income double precision NOT NULL,
    employment_type text NOT NULL,
    employment_length_years double precision NOT NULL,
    home_ownership text NOT NULL,
    loan_purpose text NOT NULL,
    loan_amount double precision NOT NULL,
    loan_term_months integer NOT NULL,
    existing_monthly_debt double precision NOT NULL,
    credit_history_years double precision NOT NULL,
    num_credit_lines integer NOT NULL,
    num_delinquencies_2y integer NOT NULL,
    credit_utilization double precision NOT NULL,
    debt_to_income double precision NOT NULL,
    loan_to_income double precision NOT NULL,
    "default" integer NOT NULL,  -- the outcome: 1 defaulted
    recorded_at timestamptz NOT NULL DEFAULT now()  -- when the outcome was recorded
);

CREATE TABLE IF NOT EXISTS nivesh_training.spending_daily (
    "date" date NOT NULL,
    user_id text NOT NULL,
    category text NOT NULL,
    amount double precision NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS nivesh_training.intent_queries (
    query_id bigserial PRIMARY KEY,
    text text NOT NULL,
    intent text NOT NULL,  -- the intent the query was resolved to
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS nivesh_training.ner_annotations (
    annotation_id bigserial PRIMARY KEY,
    text text NOT NULL,
    entities jsonb NOT NULL,  -- [[start, end, label], ...]
    recorded_at timestamptz NOT NULL DEFAULT now()
);
