// The window of the seed's program, written for the test: the tutorial
// prints the program's entry point and its Talker class but not the window
// class its entry point creates, so this file stands in for it. It adds no
// protocol of its own: every change to the text typed goes to the seed's
// Talker.EnviaMensaje unchanged (which sends the A or R frame), and what
// the Talker reports received is shown as it reports it.
//
// Layout: the text received fills the window, the text typed is the box
// under it, and a status line is at the bottom. The pane and the box have
// the accessible names "received" and "typed".
using System;
using System.Drawing;
using System.Windows.Forms;

namespace UnChat
{
    class TalkForm : Form
    {
        readonly TextBox received = new TextBox();
        readonly TextBox typed = new TextBox();
        readonly Label status = new Label();

        public TalkForm(Talker talker)
        {
            Text = "UnChat";
            StartPosition = FormStartPosition.Manual;
            Location = new Point(0, 0);
            ClientSize = new Size(640, 400);

            received.Multiline = true;
            received.ReadOnly = true;
            received.ScrollBars = ScrollBars.Vertical;
            received.Dock = DockStyle.Fill;
            received.AccessibleName = "received";

            typed.Multiline = true;
            typed.AcceptsReturn = true;
            typed.ScrollBars = ScrollBars.Vertical;
            typed.Dock = DockStyle.Bottom;
            typed.Height = 120;
            typed.AccessibleName = "typed";
            typed.Enabled = false;

            status.Dock = DockStyle.Bottom;
            status.Height = 22;

            // Docked controls take their place in reverse order of adding:
            // the status line first, at the very bottom.
            Controls.Add(received);
            Controls.Add(typed);
            Controls.Add(status);
            ActiveControl = typed;

            typed.TextChanged += delegate { talker.EnviaMensaje(typed.Text); };
            talker.Notifications += FromTalker;
            FormClosed += delegate { talker.Dispose(); };

            // The Talker reports from a thread of the pool, possibly before
            // Application.Run shows the window: the handle must exist for
            // BeginInvoke to carry the report to the window's thread.
            IntPtr made = Handle;
            GC.KeepAlive(made);
        }

        void FromTalker(Talker.Notification what, Object data)
        {
            BeginInvoke((MethodInvoker)delegate { Report(what, data); });
        }

        void Report(Talker.Notification what, Object data)
        {
            switch (what)
            {
                case Talker.Notification.Initialized:
                    typed.Enabled = true;
                    typed.Focus();
                    break;
                case Talker.Notification.StatusChange:
                    status.Text = data.ToString();
                    break;
                case Talker.Notification.ReceivedRefresh:
                    received.Text = (String)data;
                    ToEnd();
                    break;
                case Talker.Notification.ReceivedAppend:
                    received.AppendText((String)data);
                    ToEnd();
                    break;
                case Talker.Notification.End:
                case Talker.Notification.Error:
                    typed.Enabled = false;
                    status.Text = data.ToString().Replace("\n", " ");
                    break;
            }
        }

        void ToEnd()
        {
            received.SelectionStart = received.TextLength;
            received.ScrollToCaret();
        }
    }
}
