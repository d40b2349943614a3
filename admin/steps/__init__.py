"""What the rungs do: the executor's handlers for runs ending (``collect``), people's commands
(``steering``), issue and task transitions (``lifecycle``), workers starting and stopping
(``dispatch``) and housekeeping (``maintenance``). Planning and review have packages of their
own."""
