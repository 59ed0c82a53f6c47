DROP VIEW executor_rewards;
