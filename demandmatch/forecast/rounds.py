"""How many rounds of trees the demand model grows: the share of them whose model the held-out
likelihood prefers, none when the log-linear start already says what the data can tell."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

# the held-out model stops growing once this many candidate cuts in a row score below the best:
# the cuts lie many rounds apart and the held-out likelihood rises to one peak and falls after it
ROUND_PATIENCE = 1


def round_cuts(shares: Sequence[float], rounds: int) -> dict[int, float]:
    """Candidate cuts of a model grown `rounds` rounds: round -> the share of the rounds it
    stands for (two shares that cut at one round: the smaller)."""
    cuts: dict[int, float] = {}
    for share in sorted(shares):
        cuts.setdefault(round(share * rounds), share)
    return cuts


class RoundChoice:
    """Chooses a cut while a held-out model grows: call it after each round (it is the `after`
    hook of `Boosting.grow`). Each candidate cut (round -> share, see `round_cuts`) is scored by
    `score` of the held-out rows' log mu cut there, from their log-linear `start`, each tree
    predicted on the rows `X` once as it is grown; it says stop once ROUND_PATIENCE candidates
    in a row score below the best, the held-out likelihood past its peak. One candidate: no
    score, and the trees grow to its cut.

    `grow`: the rounds to grow unless it stops them sooner; `share` and `log_mean`: the best
    cut's share and log mu."""

    def __init__(
        self,
        cuts: dict[int, float],
        start: np.ndarray,
        X: pd.DataFrame,
        score: Callable[[np.ndarray], float],
    ) -> None:
        self.cuts, self.X, self.score = cuts, X, score
        self.grow = max(cuts)
        self.share, self.log_mean = cuts[min(cuts)], start
        self._f, self._done, self._best, self._worse = start, 0, -np.inf, 0
        if len(cuts) > 1 and 0 in cuts:
            self._judge(0)

    def __call__(self, models: Sequence, k: int) -> bool:
        """After round k of `models` (LightGBM boosters, averaged): whether to stop."""
        if k not in self.cuts:
            return False
        self._f = self._f + np.mean(
            [
                m.predict(
                    self.X, raw_score=True, start_iteration=self._done, num_iteration=k - self._done
                )
                for m in models
            ],
            axis=0,
        )
        self._done = k
        if len(self.cuts) == 1:
            self.share, self.log_mean = self.cuts[k], self._f
            return True
        return self._judge(k)

    def _judge(self, k: int) -> bool:
        ll = self.score(self._f)
        if ll > self._best:
            self._best, self._worse = ll, 0
            self.share, self.log_mean = self.cuts[k], self._f
        else:
            self._worse += 1
        return self._worse >= ROUND_PATIENCE
