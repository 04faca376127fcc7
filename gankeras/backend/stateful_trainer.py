"""What the TensorFlow and PyTorch trainers share: a stateful step.

Both backends hold the training state in the variables themselves, so one
step reads: unpack the batch, run each phase (forward pass, gradients,
update, projection), count the step, update the trackers. Only "the loss and
its gradients" (`_loss_and_gradients`) and the context updates run in
(`_update_context`) differ, in `tensorflow_trainer.py` and `torch_trainer.py`.
"""

import abc

from gankeras.backend import GANTrainerBase


class StatefulGANTrainer(GANTrainerBase):
    """`train_step(data)` / `test_step(data)` over the model's phases."""

    def train_step(self, data):
        real, labels = self.unpack_batch(data)
        self.observe_real_batch(real)
        # Forward pass, gradients and update of every phase (D `d_steps`
        # times, then G); the logs of each phase's last run are kept.
        logs = {}
        for phase in self.training_phases():
            logs.update(self._run_phase(phase, real, labels))
        self.optimizer.iterations.assign_add(1)
        # Update the running means that the progress bar shows.
        return self._update_trackers(logs)

    def test_step(self, data):
        # The phases' losses without updates (`gan.evaluate`).
        return self._update_trackers(self.evaluation_logs(data))

    def _run_phase(self, phase, real, labels):
        logs, grads = self._loss_and_gradients(phase, real, labels)
        with self._update_context():
            phase.optimizer.apply(grads, phase.variables)
            if phase.projection is not None:
                for variable in phase.variables:
                    variable.assign(phase.projection(variable.value))
        return logs

    @abc.abstractmethod
    def _loss_and_gradients(self, phase, real, labels):
        """`(logs, gradients of phase.loss_fn w.r.t. phase.variables)`."""

    @abc.abstractmethod
    def _update_context(self):
        """A context for the optimizer update and the projection."""
