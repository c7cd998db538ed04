"""hotline-exchange: one sovereign node per hotline, exchanging signed and sealed URL referrals."""
