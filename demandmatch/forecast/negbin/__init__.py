"""The negative binomial parts of the demand model: the censored likelihood and its derivatives
(`likelihood`), the size model (`dispersion`), the log-linear start with random effects
(`start`) and the terms of its design (`offset_terms`)."""
