"""Publishing the review list: one CSV/xlsx per team and the carried-forward list."""
