// Placeholder until the engine lands (issue "Engine"). The only target that links SimGrid.
