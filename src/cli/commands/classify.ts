export function registerClassify(_p: import('commander').Command): void {}
