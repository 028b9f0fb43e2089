"""The terms of a demand model's log-linear start, each named by a short spec over a feature
column:

- "name": the column as it is; "log:name": its log; "log1p:name": log(1 + name), negatives at
  0; "flag:name": 1 where the column is above 0, else 0;
- "cat:name": a 0/1 column per level of `name` but its most frequent one (the reference), so
  that each level's effect is read against it;
- "name*group": the slope of `name` apart for each level of `group` (one column per level, the
  column times 1 where a row has that level), e.g. "discount*category", a price elasticity per
  category.

Levels are learnt when fitted; a level never seen then reads as the reference (or, in a slope,
as no effect). A blank value stays blank: the design gives it a flag column of its own, so that
a row with no history (or no video) yet gets its own level instead of a made-up value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from demandmatch.data.texts import as_text, text_codes

TRANSFORMS = ("log", "log1p", "flag", "cat")


def parse(spec: str) -> tuple[str, str, str | None]:
    """spec -> (transform or "", column, group column of a per-level slope or None)."""
    kind, _, rest = spec.partition(":") if ":" in spec else ("", "", spec)
    if kind and kind not in TRANSFORMS:
        raise ValueError(f"offset term '{spec}': unknown transform '{kind}', use {TRANSFORMS}")
    name, _, group = rest.partition("*")
    if not name or (group and kind == "cat"):
        raise ValueError(f"offset term '{spec}' is not 'transform:column' or 'column*group'")
    return kind, name, group or None


def columns_of(spec: str) -> list[str]:
    """The feature columns a spec reads."""
    _, name, group = parse(spec)
    return [name] if group is None else [name, group]


class OffsetTerms:
    """Fitted on the training features: which specs apply (their columns are present), the
    levels of each categorical term, and each design column's centre and spread."""

    def __init__(self, specs: Sequence[str]) -> None:
        self.specs = tuple(specs)
        for spec in self.specs:
            parse(spec)

    def fit(self, X: pd.DataFrame) -> OffsetTerms:
        self.specs_ = [s for s in self.specs if all(c in X for c in columns_of(s))]
        self.levels_: dict[str, list[str]] = {}
        for spec in self.specs_:
            kind, name, group = parse(spec)
            if kind == "cat":
                counts = pd.Series(as_text(X[name])).value_counts(sort=True)
                self.levels_[spec] = sorted(counts.index[1:])  # the most frequent is the reference
            elif group is not None:
                self.levels_[spec] = sorted(pd.unique(as_text(X[group])))
        v = self.values(X)
        self.center_ = np.nan_to_num(np.nanmean(v, axis=0)) if v.size else np.zeros(v.shape[1])
        spread = np.nan_to_num(np.nanstd(v, axis=0)) if v.size else np.ones(v.shape[1])
        self.spread_ = np.where(spread > 1e-12, spread, 1.0)
        self.missing_ = np.isnan(v).any(axis=0)
        return self

    @property
    def names_(self) -> list[str]:
        """One name per column of `values`."""
        out = []
        for spec in self.specs_:
            kind, name, group = parse(spec)
            if kind == "cat":
                out += [f"{name}={level}" for level in self.levels_[spec]]
            elif group is not None:
                out += [f"{name}*{group}={level}" for level in self.levels_[spec]]
            else:
                out.append(spec)
        return out

    def values(self, X: pd.DataFrame) -> np.ndarray:
        """The terms' columns, (rows, len(names_)), blank where the feature is blank."""
        blocks = []
        for spec in self.specs_:
            kind, name, group = parse(spec)
            if kind == "cat":
                blocks.append(_one_hot(X[name], self.levels_[spec]))
                continue
            v = X[name].to_numpy(dtype=float)
            if kind == "log":
                with np.errstate(divide="ignore", invalid="ignore"):
                    v = np.log(np.where(v > 0, v, np.nan))
            elif kind == "log1p":
                v = np.log1p(np.maximum(v, 0.0))
            elif kind == "flag":
                v = np.where(np.isnan(v), np.nan, (v > 0).astype(float))
            if group is None:
                blocks.append(v[:, None])
            else:
                # a blank value is blank in its own level's column only
                blocks.append(np.where(_one_hot(X[group], self.levels_[spec]) > 0, v[:, None], 0.0))
        return np.column_stack(blocks) if blocks else np.empty((len(X), 0))

    def design(self, X: pd.DataFrame) -> np.ndarray:
        """Intercept, the standardised columns (a blank at the column's mean) and a flag per
        column that had blanks when fitted."""
        v = self.values(X)
        blank = np.isnan(v)
        flags = blank[:, self.missing_]
        p = v.shape[1]
        out = np.empty((len(X), 1 + p + flags.shape[1]))  # filled in place, block by block
        out[:, 0] = 1.0
        z = out[:, 1 : 1 + p]
        np.subtract(v, self.center_, out=z)
        np.divide(z, self.spread_, out=z)
        z[blank] = 0.0
        out[:, 1 + p :] = flags
        return out


def _one_hot(values: pd.Series, levels: list[str]) -> np.ndarray:
    """(rows, len(levels)): 1 where the row's value is that level (a blank is the level
    "nan"), else 0."""
    index = pd.Index(levels, dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype) and index.is_unique:
        code = _category_codes(values, index)
    else:
        codes, texts = text_codes(values)
        if not index.is_unique:  # a row then belongs to every copy of its level
            s = texts[codes]
            return (s[:, None] == np.asarray(levels, dtype=object)[None, :]).astype(float)
        code = index.get_indexer(texts)[codes]  # one hashed lookup per distinct value
    out = np.zeros((len(values), len(levels)))
    hit = np.flatnonzero(code >= 0)
    out[hit, code[hit]] = 1.0
    return out


def _category_codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """index.get_indexer(values.astype(str)) of a categorical column, looked up once per
    category (and once for a blank) instead of once per row: each category's string is the one
    astype(str) gives its rows."""
    categories = len(values.cat.categories)
    probe = pd.Categorical.from_codes(np.append(np.arange(categories), -1), dtype=values.dtype)
    per_category = index.get_indexer(pd.Series(probe).astype(str).to_numpy())
    return per_category[values.cat.codes.to_numpy()]  # a blank's code -1: the last entry
