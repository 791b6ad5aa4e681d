"""The public board of responses: per campaign, what each target government has publicly said on each
demand, published entry by entry by a manager, and nothing internal."""
