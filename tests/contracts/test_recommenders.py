"""Every registered recommender passes the same contract, on a block-structured data
set with a known answer: users of block b interact with every item of block b but
one, and that withheld item must be each user's first recommendation for the
collaborative models (implicit's checkerboard test, in our shape)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from vitrina.recs.data import Interactions
from vitrina.recs.models import Recommender, load_model
from vitrina.recs.models.content import ContentBased
from vitrina.recs.models.neighbours import EASE, ItemKNN
from vitrina.recs.models.popularity import Popularity
from vitrina.testing import make_registries

RECOMMENDERS = make_registries().recommenders
BLOCKS, USERS_PER_BLOCK, ITEMS_PER_BLOCK = 4, 12, 10

#: small, fast parameters for each registered model (a new model adds its own here)
PARAMS = {
    "popularity": lambda cls: cls(half_life_days=30.0),
    "covisitation": lambda cls: cls(window=3, recent=5),
    "item-knn": lambda cls: cls(neighbours=20),
    "ease": lambda cls: cls(lam=10.0),
    "als": lambda cls: cls(factors=8, regularization=0.01, iterations=10, seed=3),
    "bpr": lambda cls: cls(factors=8, learning_rate=0.05, iterations=150, seed=3),
    "content": lambda cls: cls(),
    "hybrid": lambda cls: cls([(ItemKNN(neighbours=20), 1.0), (EASE(lam=10.0), 1.0),
                               (ContentBased(), 0.5), (Popularity(), 0.2)]),
}
#: the models that learn from who-interacted-with-what (the block test applies)
COLLABORATIVE = {"covisitation", "item-knn", "ease", "als", "bpr", "hybrid"}


def block_data() -> tuple[Interactions, dict[int, int]]:
    """Interactions of the block structure (random times, two sessions per user) and
    each user's withheld item, by index; items carry block-indicator content vectors."""
    rng = np.random.default_rng(7)
    rows: dict[str, list] = {c: [] for c in ("user_id", "item_id", "event", "value", "ts", "session_id")}
    withheld = {}
    for b in range(BLOCKS):
        for j in range(USERS_PER_BLOCK):
            user = f"u{b:02d}{j:02d}"
            items = [f"i{b:02d}{i:02d}" for i in range(ITEMS_PER_BLOCK)]
            withheld[user] = items.pop(j % ITEMS_PER_BLOCK)
            order = rng.permutation(len(items))
            for t, k in enumerate(order):
                rows["user_id"].append(user)
                rows["item_id"].append(items[k])
                rows["event"].append(["click", "read", "purchase"][k % 3])
                rows["value"].append(1.0)
                rows["ts"].append(1_700_000_000.0 + 3600 * t + rng.random())
                rows["session_id"].append(f"{user}-{t // 5}")
    item_ids = [f"i{b:02d}{i:02d}" for b in range(BLOCKS) for i in range(ITEMS_PER_BLOCK)]
    data = Interactions.from_table(rows, item_ids=item_ids)
    vectors = np.zeros((data.n_items, BLOCKS + 1))
    vectors[np.arange(data.n_items), np.arange(data.n_items) // ITEMS_PER_BLOCK] = 1.0
    vectors[:, BLOCKS] = rng.random(data.n_items) * 0.3
    data = data.with_item_vectors(vectors)
    users, items = data.user_index(), data.item_index()
    return data, {users[u]: items[i] for u, i in withheld.items()}


DATA, WITHHELD = block_data()


def make(name: str) -> Recommender:
    if name not in PARAMS:
        pytest.fail(f"recommender {name!r} has no parameters in tests/contracts/test_recommenders.py")
    return PARAMS[name](RECOMMENDERS.get(name))


@pytest.fixture(scope="module", params=RECOMMENDERS.names())
def fitted(request) -> Recommender:
    return make(request.param).fit(DATA)


def test_the_builtin_recommenders_are_registered():
    assert set(PARAMS) <= set(RECOMMENDERS.names())
    for cls in RECOMMENDERS:
        assert cls.name in RECOMMENDERS and isinstance(cls.version, str)


def test_every_registered_model_is_a_recommender(fitted):
    assert isinstance(fitted, Recommender)


def test_shapes_and_order(fitted):
    users = np.arange(DATA.n_users)
    items, scores = fitted.recommend(users, 5)
    assert items.shape == scores.shape == (DATA.n_users, 5)
    assert ((items >= 0) & (items < DATA.n_items)).all()
    assert (np.diff(scores, axis=1) <= 0).all()  # best first
    assert all(len(set(row)) == 5 for row in items.tolist())  # no repeats
    all_items, _ = fitted.recommend([0], DATA.n_items + 10)  # k past the catalogue: capped
    assert sorted(all_items[0].tolist()) == list(range(DATA.n_items))


def test_a_batch_answers_as_single_users_do(fitted):
    users = np.arange(DATA.n_users)
    exclude = DATA.user_items
    items, scores = fitted.recommend(users, 7, exclude)
    for u in users:
        one, one_scores = fitted.recommend([u], 7, exclude[[u]])
        assert one[0].tolist() == items[u].tolist()
        np.testing.assert_array_equal(one_scores[0], scores[u])


def test_excluded_items_are_never_recommended(fitted):
    users = np.arange(DATA.n_users)
    exclude = DATA.user_items
    items, scores = fitted.recommend(users, DATA.n_items, exclude)
    for u in users:
        seen = set(exclude[u].indices.tolist())
        returned = [i for i in items[u].tolist() if i >= 0]
        assert not seen & set(returned)
        assert len(returned) == DATA.n_items - len(seen)  # every other item, padded with -1
        assert (items[u][len(returned):] == -1).all() and np.isneginf(scores[u][len(returned):]).all()


def test_saved_and_loaded_it_recommends_the_same(fitted):
    data = fitted.save()
    assert isinstance(data, bytes)
    for loaded in (type(fitted).load(data), load_model(data)):
        assert loaded.name == fitted.name
        users = np.arange(DATA.n_users)
        a, sa = fitted.recommend(users, 10, DATA.user_items)
        b, sb = loaded.recommend(users, 10, DATA.user_items)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(sa, sb)
        np.testing.assert_array_equal(fitted.similar_items([0, 5], 4)[0], loaded.similar_items([0, 5], 4)[0])


def test_load_refuses_another_model(fitted):
    other = "popularity" if fitted.name != "popularity" else "ease"
    with pytest.raises(ValueError):
        RECOMMENDERS.get(other).load(fitted.save())


def test_the_same_seed_fits_the_same_model(fitted):
    again = make(fitted.name).fit(DATA)
    users = np.arange(DATA.n_users)
    a, sa = fitted.recommend(users, 10, DATA.user_items)
    b, sb = again.recommend(users, 10, DATA.user_items)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)


def test_similar_items_never_answer_the_item_itself(fitted):
    items = np.arange(DATA.n_items)
    similar, _ = fitted.similar_items(items, 5)
    assert similar.shape == (DATA.n_items, 5)
    assert not (similar == items[:, None]).any()


def test_fold_in_for_a_new_user(fitted):
    history = [0, 1, 2, 3]
    if not fitted.supports_history:
        with pytest.raises(NotImplementedError):
            fitted.recommend_for_history(history, None, 5)
        return
    items, scores = fitted.recommend_for_history(history, [1.0, 1.0, 2.0, 1.0], 5)
    assert items.shape == scores.shape == (5,)
    assert not set(items.tolist()) & set(history)
    if fitted.name in COLLABORATIVE | {"content"}:
        # a history inside block 0 brings the rest of block 0 first
        assert set(items.tolist()) <= set(range(ITEMS_PER_BLOCK))


def test_the_withheld_item_comes_first(fitted):
    if fitted.name not in COLLABORATIVE:
        pytest.skip(f"{fitted.name} does not learn from co-occurrence")
    users = np.arange(DATA.n_users)
    items, _ = fitted.recommend(users, 1, DATA.user_items)
    assert items[:, 0].tolist() == [WITHHELD[u] for u in users]


def test_a_wrong_exclude_shape_is_refused(fitted):
    with pytest.raises(ValueError, match="exclude"):
        fitted.recommend([0, 1], 3, sparse.csr_matrix((1, DATA.n_items)))
