"""The demo: a simulated day of a GPU fleet at mining sites, on a real local cluster.

Only ``cango_operator.commands.demo`` imports this package. Its modules, each with one job:

``scenario``      the scenario format (fleet, tenants' jobs, events), loaded from YAML
``clock``         simulated time, ``speed`` times faster than real time
``conditions``    what each site's meter says at a simulated moment (pure)
``feeds``         the HTTP server that plays every site's meter on 127.0.0.1
``fleet``         Sites, GpuNodes, kwok Nodes and InferenceJobs built from the scenario
``baseline``      the same jobs as plain Deployments, for kube-scheduler alone
``tenants``       submitting and deleting jobs at their times
``events``        storms, curtailments, GPU failures, price spikes at their times
``agents``        the simulated node agents, many in one process
``kube``          the demo's own cluster calls
``operator_proc`` ``cango-operator run`` as a child process
``samples``       snapshots of the cluster's objects
``report``        the report computed from the snapshots (``report_text`` prints it)
``scrape``        the operator's ``/metrics``
``view``          the live terminal view
``runner``        the whole run, start to clean-up

The front door is ``runner`` (``DemoOptions``, ``run_demo``) and ``scenario``
(``load_scenario``); this package module imports nothing, so a test of one piece does
not load the whole demo.
"""
