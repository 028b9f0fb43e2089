"""A seeded live-commerce world in the contract's tables, with the hidden truth behind it.

The demo world exists so that the engine can be run, tested and benchmarked on data whose true
demand distribution is known. `simulate_world(seed, size)` builds merchants with catalogs,
streamers, past and upcoming streams with their lineups, and short-video traffic; the last
`horizon_days` of the calendar are upcoming (outcome columns blank, video snapshots only up to
the as-of time, which is the earliest upcoming start).

How demand is made, per stream item (stream s, SKU k of merchant m, streamer h):

    log mean = base + category effect + SKU popularity + brand effect - 0.6 log(price / typical)
             + streamer skill + streamer-category affinity + 0.55 log(followers / 1e5)
             + log hype(s) + elasticity(category) x discount - 0.025 (slot - 1)
             + 0.35 featured + 0.25 featured-in-a-video + hour, weekend and festival effects
             + 0.35 log(duration / 120) - 0.25 log(lineup size / 13)

The hidden per-stream hype (lognormal) also scales the stream's short-video views and viewers,
so videos carry real signal. Units demanded (as if stock were unlimited) are negative binomial:

    D ~ NB(mean, size), variance mean + mean^2 / size; in scipy terms
    P(D = k) = scipy.stats.nbinom.pmf(k, n=size, p=size / (size + mean)).

`World.truth` (written as truth.csv) holds, for every stream item past and upcoming: stream_id,
sku_id, merchant_id, upcoming, mean, size, return_rate, the drawn demand, the stream's hidden
log hype inside `mean` (log_hype; normal with spread HYPE_SD around hype_center), the SKU's own
popularity around its brand's (log_sku_pop; spread POP_SD) and the streamer's skill plus taste
for the SKU's category (log_host): what no history tells of a SKU or streamer new to streams.
For past items the
merchant stocked by gut feeling (recent mean sales times lognormal noise, blank = unlimited for
about a fifth of items), so units_sold = min(demand, stock_allocated) and sell-outs censor;
units_returned ~ Binomial(units_sold, return_rate). For upcoming items the demand draw is one the
engine never sees: a benchmark scores forecasts and plans against the truth's distribution.

Everything is drawn from one `np.random.default_rng(seed)` in a fixed order, so the same seed
gives the same world and byte-identical files.
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
