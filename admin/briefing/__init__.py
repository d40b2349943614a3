"""What agents are told and what is remembered for them: prompt rendering, the worker's
brief, recall of conventions, lessons and episodes, and memory's side of each run."""
