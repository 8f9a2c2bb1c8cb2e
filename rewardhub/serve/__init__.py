"""HTTP scoring service: ``rewardhub serve`` runs a :class:`~rewardhub.Scorer` behind HTTP.

- :mod:`rewardhub.cli.serve`: the CLI command (imports only click until it runs);
- :mod:`rewardhub.serve.app`: the Starlette app, its refusals and lifespan;
- :mod:`rewardhub.serve.batcher`: the dynamic batcher every request goes through;
- :mod:`rewardhub.serve.protocols`: one module per wire protocol (native, OpenRLHF, slime,
  NeMo-Gym, health/info);
- :mod:`rewardhub.remote.wire`: the native protocol's shapes, shared with :mod:`rewardhub.remote`;
- :mod:`rewardhub.serve.prometheus`: Prometheus metrics.

Importing this package imports nothing else (the client imports :mod:`~rewardhub.remote.wire`
without needing Starlette).
"""
