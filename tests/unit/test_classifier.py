"""The triage classifiers: training, cold start, prediction and the pickle-free archive."""
import io
import json
import math

import numpy as np
import pytest

from appliance.ports import LabelProfileSpec
from local_llm.classifier import ClassifierFormatError, SklearnBackend
from local_llm.textfeatures import MAX_CHARS, normalize, words

TRAIN = [
    ("宽带断网了，光猫红灯一直闪", "network"), ("家里WiFi连不上，网速特别慢", "network"),
    ("手机没有信号，打不了电话", "network"), ("The internet is down again at home", "network"),
    ("网页打不开，宽带掉线", "network"), ("晚上网速慢得像蜗牛🐌", "network"),
    ("这个月话费多扣了三十元", "billing"), ("发票抬头写错了要重开", "billing"),
    ("充值一百元还没到账", "billing"), ("I was charged twice on my bill", "billing"),
    ("套餐月租怎么涨价了", "billing"), ("申请退款，余额退回银行卡", "billing"),
    ("快递三天没更新物流", "delivery"), ("包裹显示签收但我没收到", "delivery"),
    ("什么时候发货？订单一直待出库", "delivery"), ("My parcel tracking has not moved", "delivery"),
    ("收货地址填错了要改", "delivery"), ("快递员把货放在快递柜没通知", "delivery"),
]
TEXTS, LABELS = [t for t, _ in TRAIN], [y for _, y in TRAIN]
ODD_TEXTS = ["", "   ", "😡😡😡👍", "x" * 500_000, "我的VPN连不上 please help!!! 🙏",
             "\x00\u200b\ufeff控制字符", "123456789012345678", "Ｆｕｌｌ－ｗｉｄｔｈ ＴＥＸＴ", "ü é ß"]


@pytest.fixture(scope="module")
def trained():
    return SklearnBackend().train(TEXTS, LABELS)


def assert_distribution(scores, labels):
    assert {s.label for s in scores} == set(labels)
    assert math.isclose(sum(s.confidence for s in scores), 1.0, abs_tol=1e-6)
    assert all(0.0 <= s.confidence <= 1.0 for s in scores)
    assert [s.confidence for s in scores] == sorted((s.confidence for s in scores), reverse=True)


def test_training_yields_a_learned_classifier_over_exactly_the_known_labels(trained):
    assert trained.kind == "learned"
    assert trained.labels == ("billing", "delivery", "network")
    for text in ["宽带又断网了", "话费扣错了", "快递还没到"]:
        assert_distribution(trained.predict(text), trained.labels)


def test_a_trained_classifier_gets_its_own_training_topics_right(trained):
    assert trained.predict("光猫红灯闪，宽带断网")[0].label == "network"
    assert trained.predict("话费多扣了要退款")[0].label == "billing"
    assert trained.predict("快递物流不更新")[0].label == "delivery"


def test_predict_many_matches_predict_one_by_one(trained):
    texts = ["宽带断网", "发票", "快递"]
    assert trained.predict_many(texts) == [trained.predict(t) for t in texts]
    assert trained.predict_many([]) == []


def test_empty_huge_emoji_and_mixed_text_are_classified_without_error(trained):
    for text in ODD_TEXTS:
        assert_distribution(trained.predict(text), trained.labels)


def test_text_with_no_known_feature_gets_an_even_low_confidence(trained):
    scores = trained.predict("")
    assert scores[0].confidence < 0.7


def test_round_trip_through_bytes_gives_identical_predictions(trained):
    blob = trained.to_bytes()
    loaded = SklearnBackend().load(blob)
    assert loaded.kind == "learned" and loaded.labels == trained.labels
    for text in TEXTS + ODD_TEXTS:
        assert loaded.predict(text) == trained.predict(text)
    again = SklearnBackend().load(loaded.to_bytes())
    assert again.predict("宽带断网") == trained.predict("宽带断网")


def test_the_archive_is_an_npz_that_loads_without_pickle(trained):
    with np.load(io.BytesIO(trained.to_bytes()), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        assert meta["format"] == "gongdan-text-classifier" and meta["version"] == 2
        assert meta["labels"] == list(trained.labels)
        assert all(z[k].dtype != object for k in z.files)


@pytest.mark.parametrize("blob", [b"", b"not a zip", b"PK\x03\x04garbage", b"\x80\x04K\x01."])
def test_loading_garbage_fails_with_a_clear_format_error(blob):
    with pytest.raises(ClassifierFormatError, match="not a classifier archive|malformed"):
        SklearnBackend().load(blob)


def _rewrite(blob: bytes, **changes) -> bytes:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_loading_an_archive_with_a_missing_or_inconsistent_part_is_refused(trained):
    blob = trained.to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        coef, meta = z["coef"], json.loads(z["meta"].tobytes().decode())
    bad_meta = dict(meta, version=99)
    cases = [
        _rewrite(blob, coef=coef[:, :-1]),
        _rewrite(blob, meta=np.frombuffer(json.dumps(bad_meta).encode(), np.uint8)),
        _rewrite(blob, meta=np.frombuffer(b"{not json", np.uint8)),
        _rewrite(blob, coef=np.full_like(coef, np.nan)),
    ]
    for bad in cases:
        with pytest.raises(ClassifierFormatError):
            SklearnBackend().load(bad)


def test_an_archive_holding_python_objects_is_refused():
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ClassifierFormatError):
        SklearnBackend().load(buf.getvalue())


def test_training_needs_two_labels_matching_lengths_and_positive_weights():
    backend = SklearnBackend()
    with pytest.raises(ValueError, match="two labels"):
        backend.train(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="labels"):
        backend.train(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="weights"):
        backend.train(["a", "b"], ["x", "y"], weights=[1.0, -1.0])


def test_two_label_training_gives_two_probabilities_and_weights_are_accepted():
    clf = SklearnBackend().train(["退款", "退钱", "发货", "快递"], ["refund", "refund", "ship", "ship"],
                                 weights=[1, 3, 1, 1])
    assert_distribution(clf.predict("我要退款"), ("refund", "ship"))
    assert clf.predict("我要退款")[0].label == "refund"


def test_larger_training_sets_get_a_fitted_temperature():
    texts = [f"{t} 第{i}次" for i in range(4) for t in TEXTS]
    clf = SklearnBackend().train(texts, LABELS * 4)
    calib = clf.meta["calibration"]
    assert calib["holdout"] > 0 and clf.temperature == calib["temperature"] > 0
    assert 0 <= calib["ece_after"] <= 1


# --- the semantic head: text features plus sentence vectors (decision 0053) ----------------

def _vectors(labels, dim=24, seed=7, noise=0.3):
    """Stand-in vectors that carry each label's direction plus noise, as float16 bytes
    (the embedder's format); the real model's vectors are tested in tests/llm."""
    from local_llm.embedder import to_bytes
    rng = np.random.default_rng(seed)
    kinds = sorted(set(labels))
    centres = {k: rng.normal(size=dim) for k in kinds}
    return [to_bytes(centres[y] + noise * rng.normal(size=dim)) for y in labels]


SAME_TEXT = ["请帮忙处理一下这个问题"] * 60          # the words say nothing about the label
SAME_LABELS = ["a", "b", "c"] * 20


def test_vectors_give_a_semantic_head_that_reads_what_the_words_do_not_say():
    vecs = _vectors(SAME_LABELS + SAME_LABELS[:3])
    clf = SklearnBackend().train(SAME_TEXT, SAME_LABELS, vectors=vecs[:60], vector_space="s1")
    assert clf.vector_space == "s1" and clf.meta["semantic"]["used"] is True
    tests, truth = vecs[60:], SAME_LABELS[:3]
    with_vectors = clf.predict_many(["请帮忙处理一下"] * 3, tests)
    assert [p[0].label for p in with_vectors] == truth
    assert all(p[0].confidence > 0.6 for p in with_vectors)
    text_only = clf.predict("请帮忙处理一下")          # no vector: the text model, unsure
    assert text_only[0].confidence < 0.5
    mixed = clf.predict_many(["请帮忙处理一下", "请帮忙处理一下"], [None, tests[1]])
    assert mixed[0] == text_only and mixed[1] == with_vectors[1]


def test_a_semantic_head_survives_the_round_trip_and_old_archives_still_load():
    vecs = _vectors(SAME_LABELS + ["b"])
    clf = SklearnBackend().train(SAME_TEXT, SAME_LABELS, vectors=vecs[:60], vector_space="s1")
    back = SklearnBackend().load(clf.to_bytes())
    assert back.vector_space == "s1"
    assert back.predict("请帮忙", vecs[60]) == clf.predict("请帮忙", vecs[60])
    plain = SklearnBackend().train(TEXTS, LABELS)   # a version-1 archive: no head
    with np.load(io.BytesIO(plain.to_bytes()), allow_pickle=False) as z:
        meta = dict(json.loads(z["meta"].tobytes().decode()), version=1)
    old = SklearnBackend().load(_rewrite(plain.to_bytes(),
                                         meta=np.frombuffer(json.dumps(meta).encode(), np.uint8)))
    assert old.vector_space is None and old.predict("宽带断网", b"") == plain.predict("宽带断网")


def test_too_few_vectors_leave_the_classifier_text_only_and_say_why():
    vecs = _vectors(SAME_LABELS)
    vecs[:6] = [None] * 6                                   # 90% < 95%
    clf = SklearnBackend().train(SAME_TEXT, SAME_LABELS, vectors=vecs, vector_space="s1")
    assert clf.vector_space is None
    assert clf.meta["semantic"] == {"used": False, "vector_share": 0.9,
                                    "reason": "vectors for 90% of the examples"}
    with pytest.raises(ValueError, match="vectors"):
        SklearnBackend().train(SAME_TEXT, SAME_LABELS, vectors=vecs[:10], vector_space="s1")


def test_an_archive_with_an_inconsistent_semantic_head_is_refused():
    clf = SklearnBackend().train(SAME_TEXT, SAME_LABELS, vectors=_vectors(SAME_LABELS),
                                 vector_space="s1")
    blob = clf.to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        coef, mean = z["sem_coef"], z["sem_mean"]
    for bad in (_rewrite(blob, sem_coef=coef[:, :-1]), _rewrite(blob, sem_mean=mean[:-1]),
                _rewrite(blob, sem_coef=np.full_like(coef, np.inf))):
        with pytest.raises(ClassifierFormatError, match="semantic head"):
            SklearnBackend().load(bad)


PROFILES = [
    LabelProfileSpec("billing", "账户与账单", "话费、扣费、发票、充值、退款、套餐变更",
                     ("这个月话费多扣了", "帮我开发票", "充值没到账")),
    LabelProfileSpec("network", "网络与故障", "宽带断网、网速慢、没有信号、WiFi掉线",
                     ("家里宽带断网了", "手机没信号", "网速特别慢")),
    LabelProfileSpec("logistics", "物流配送", "快递发货、物流查询、签收、改地址、包裹丢失",
                     ("快递三天没动", "什么时候发货", "包裹没收到")),
]


def test_cold_start_from_profiles_classifies_new_chinese_tickets():
    clf = SklearnBackend().cold_start(PROFILES)
    assert clf.kind == "cold" and clf.labels == ("billing", "network", "logistics")
    assert clf.predict("光猫红灯，上不了网")[0].label == "network"
    assert clf.predict("账单里多收了二十元")[0].label == "billing"
    assert clf.predict("物流信息一直不更新，订单还没到")[0].label == "logistics"
    for text in ODD_TEXTS:
        assert_distribution(clf.predict(text), clf.labels)


def test_a_cold_start_classifier_survives_the_round_trip():
    clf = SklearnBackend().cold_start(PROFILES)
    loaded = SklearnBackend().load(clf.to_bytes())
    assert loaded.kind == "cold"
    assert loaded.predict("快递丢了") == clf.predict("快递丢了")


def test_cold_start_refuses_fewer_than_two_or_duplicate_labels():
    with pytest.raises(ValueError, match="two labels"):
        SklearnBackend().cold_start(PROFILES[:1])
    with pytest.raises(ValueError, match="one profile"):
        SklearnBackend().cold_start([PROFILES[0], PROFILES[1], PROFILES[0]])


def test_normalisation_folds_width_case_traditional_and_long_digit_runs():
    assert normalize("Ｈｅｌｌｏ 帳號被盜 13812345678") == "hello 帐号被盗 0000000000"
    assert normalize("订单 2024 号") == "订单 0000 号"
    assert normalize(None) == "" and normalize("") == ""
    assert len(normalize("字" * 1_000_000)) == MAX_CHARS


def test_tokens_are_chinese_words_stemmed_english_words_and_emoji():
    assert words(normalize("我的宽带 keeps disconnecting 😡")) == [
        "我", "的", "宽带", "keep", "disconnect", "😡"]
