"""A seeded live-commerce world in the contract's tables, with the hidden truth behind it.

The demo world exists so that the engine can be run, tested and benchmarked on data whose true
demand distribution is known. `simulate_world(seed, size, scenario)` builds merchants with
catalogs, streamers, past and upcoming streams with their lineups, and short-video traffic; the last
`horizon_days` of the calendar are upcoming (outcome columns blank, video snapshots only up to
the as-of time, which is the earliest upcoming start). `scenario` (scenarios.py) changes the
world's structure: launch boosts, brand signal, hype tails, lead times, stock rules, video ties,
new streamers, dispersion; its knobs' defaults are the demo's. `size` names one of SIZES (tiny,
small, demo, growth worlds x1-x16 and million) or is a WorldSize (`scaled(size, k)`).

How demand is made, per stream item (stream s, SKU k of merchant m, streamer h):

    log mean = base + category effect + SKU popularity + brand effect - 0.6 log(price / typical)
             + streamer skill + streamer-category affinity + 0.55 log(followers / 1e5)
             + log hype(s) + elasticity(category) x discount - 0.025 (slot - 1)
             + 0.35 featured + 0.25 featured-in-a-video + hour, weekend and festival effects
             + 0.35 log(duration / 120) - 0.25 log(lineup size / 13)
             [+ launch boost x (1 - j / 4) on the j-th stream, j < 4, of a launched SKU]

The hidden per-stream hype (lognormal) also scales the stream's short-video views and viewers,
so videos carry real signal (scenario weak_video loosens that tie). Units demanded (as if stock
were unlimited) are negative binomial, with the size of the SKU's category (or, in the nb_size
scenarios, the SKU's own):

    D ~ NB(mean, size), variance mean + mean^2 / size; in scipy terms
    P(D = k) = scipy.stats.nbinom.pmf(k, n=size, p=size / (size + mean)).

`World.truth` (written as truth.csv) holds, for every stream item past and upcoming: stream_id,
sku_id, merchant_id, upcoming, mean, size, return_rate, the drawn demand, the stream's hidden
log hype inside `mean` (log_hype; around hype_center, normal with spread HYPE_SD in the demo,
the scenario's `hype` mixture otherwise), the SKU's own popularity around its brand's
(log_sku_pop; spread POP_SD) and the streamer's skill plus taste for the SKU's category
(log_host): what no history tells of a SKU or streamer new to streams. For past items the
merchant stocked by gut feeling (recent mean sales times lognormal noise around the merchant's
gut centre, one for all merchants but in sellout_10_50; blank = unlimited for about a fifth of
items), so units_sold = min(demand, stock_allocated) and sell-outs censor;
units_returned ~ Binomial(units_sold, return_rate). For upcoming items the demand draw is one the
engine never sees: a benchmark scores forecasts and plans against the truth's distribution.

Everything is drawn from one `np.random.default_rng(seed)` in a fixed order (and what a scenario
adds from its knob's own seeded stream), so the same seed and scenario give the same world and
byte-identical files. write_world also writes OUT/scenario.json (load_scenario reads it back):
the scenario's name and every knob, e.g. the hype's normal mixture an oracle integrates over.
"""

from .entities import POP_SD
from .profiles import CATEGORIES, SIZES, Category, WorldSize, scaled
from .scenarios import ABOUT, DEMO, SCENARIOS, Scenario, load_scenario, scenario
from .streams import HYPE_SD
from .world import TRUTH_COLUMNS, World, load_truth, simulate_world, write_world

__all__ = [
    "ABOUT",
    "CATEGORIES",
    "DEMO",
    "HYPE_SD",
    "POP_SD",
    "SCENARIOS",
    "SIZES",
    "TRUTH_COLUMNS",
    "Category",
    "Scenario",
    "World",
    "WorldSize",
    "load_scenario",
    "load_truth",
    "scaled",
    "scenario",
    "simulate_world",
    "write_world",
]
