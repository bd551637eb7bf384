-- Credit risk scorer: loan applications whose outcome (default or repaid) was recorded in the window.
SELECT applicant_id, age, annual_income, employment_type, employment_length_years, home_ownership, loan_purpose,
       loan_amount, loan_term_months, existing_monthly_debt, credit_history_years, num_credit_lines,
       num_delinquencies_2y, credit_utilization, debt_to_income, loan_to_income, "default"
FROM nivesh_training.credit_applications
WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s
ORDER BY applicant_id
