"""``code_tests``: run the response's code against the reference's tests, in a sandbox.

- :mod:`.extract`: the code (last fenced block, Python first) and the tests (assert statements,
  ``test_*`` functions) as a :class:`~.extract.Suite`;
- :mod:`.sandbox`: the :class:`~.sandbox.Sandbox` interface and :class:`~.sandbox.LocalSandbox`
  (the host's side: limits, deadline, probe, what is isolated);
- :mod:`.confine`: the sandbox's first process (namespaces, the filesystem view, the
  supervisor that alone reports results), with :mod:`._linux` (system calls via ctypes);
- :mod:`.harness`: what the tested process runs (the code, then the tests);
- :mod:`.cgroups`: the per-run pids cgroup;
- :mod:`.reward`: the ``code_tests`` reward.
"""
