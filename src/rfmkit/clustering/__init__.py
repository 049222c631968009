"""K-means clusters of customers: the estimator, k selection, names and matching across refits."""
