// The package skeleton: its API arrives with its issue.
export {};
