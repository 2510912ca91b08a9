// `fastrnn`: see FastRnnCli for the commands, exit codes and error format.
using FastRnn.Cli;

return FastRnnCli.Run(args, Console.Out, Console.Error);
