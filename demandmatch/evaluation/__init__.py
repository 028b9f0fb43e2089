"""How good a forecast and a plan are: scores (`metrics`), the rolling-origin backtest
(`backtest`), the references that know the demo world's truth (`oracles`) and plans scored under
it (`plans`)."""
