from cango_operator.cli import main

raise SystemExit(main())
