"""The cap of at most t pairs per query, as one core that two stages wire thinly: balance caps
the harvested candidates, shard caps the downloaded samples again (``--per-query``).

- ``rules``: ``BalanceRules``, the rule's settings (t, oversampling, seed, tuning);
- ``sampling``: the keep rule, one hash-seeded draw per (pair, query);
- ``languages``: the count keys (``LANG<TAB>QUERY``) and each language's t;
- ``transforms``: the two passes as Beam transforms (count, then keep), whatever the unit;
- ``report``: the per-query report (matched, kept, p_keep, source) and its totals.
"""
