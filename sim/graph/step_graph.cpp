// Placeholder until the StepGraph lands (issue "Engine").
