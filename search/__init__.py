"""Full-text search back-ends for `appliance.ports.SearchIndex`.

`search.whoosh_index.WhooshIndex` is the Whoosh implementation (chosen by
`appliance.registry` from the `search_backend` setting); `search.analysis` holds
the text pipeline it uses: PII masking, Chinese/English tokens, highlight spans.
"""
